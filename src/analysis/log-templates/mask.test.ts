import { describe, expect, it } from 'vitest';
import { isVariable, maskedTokens, maskVariables } from './mask.js';

describe('maskVariables: each kind of variable', () => {
  const cases: [string, string, string][] = [
    ['numbers and decimals', 'retry 3 of 5 took 0.25', 'retry <*> of <*> took <*>'],
    ['negative numbers', 'offset -42 applied', 'offset <*> applied'],
    ['hex literals and hex ids', 'flags=0x1 at 0x7fed806eb5d id deadbeef42', 'flags=<*> at <*> id <*>'],
    ['uuids', 'instance 6fa1a4b6-2e7c-4b1f-9a4e-0c2d8e1f3a5b deleted', 'instance <*> deleted'],
    [
      'cut uuids and generated suffixes',
      'pod web-2e9f6 reconcileID=b3fa6da0-f4e7 ready',
      'pod <*> reconcileID=<*> ready',
    ],
    ['request ids', 'req-38101a0b-2096-447d-96ea-a692162415ae finished', '<*> finished'],
    [
      'block and job ids',
      'Deleting block blk_-1608999687919862906 of job_1445144423722_0020',
      'Deleting block <*> of <*>',
    ],
    ['IPv4 with and without a port', 'from 10.250.10.6 to 10.0.0.1:50010', 'from <*> to <*>'],
    ['IPv6', 'IPV6 Addr: fe80:0:0:0:c6b3:1ff:fecd:467f', 'IPV6 Addr: <*>'],
    [
      'MAC addresses',
      'DHCPACK on 10.100.4.251 to aa:bb:cc:dd:ee:ff via eth1',
      'DHCPACK on <*> to <*> via eth1',
    ],
    ['host:port', 'connect to proxy.cse.cuhk.edu.hk:5070 failed', 'connect to <*> failed'],
    ['host names', 'lookup ns.example.com gave nothing', 'lookup <*> gave nothing'],
    [
      'unix paths',
      'Directory index forbidden by rule: /var/www/html/',
      'Directory index forbidden by rule: <*>',
    ],
    ['Windows paths', 'Loaded C:\\Windows\\winsxs\\cbscore.dll', 'Loaded <*>'],
    ['URLs', 'GET https://api.example.com/v1/items?id=3 returned 503', 'GET <*> returned <*>'],
    [
      'durations',
      'took 35 ms, retried after 1.5s, gave up at 2h',
      'took <*> retried after <*> gave up at <*>',
    ],
    ['sizes', 'wrote 64MB (estimated size 1.13 KB, free 3.4 GB)', 'wrote <*>'],
    ['dates and times', 'at Sun Dec 04 04:47:44 2005 and 2017-05-16T00:00:00.008Z', 'at <*> and <*>'],
    [
      'user names after `user`',
      'session opened for user fztu by (uid=0)',
      'session opened for user <*> by <*>',
    ],
    ['e-mail addresses', 'mail from alice@example.org queued', 'mail from <*> queued'],
    ['file names', 'chrome.exe opened index.html', '<*> opened <*>'],
    [
      'quoted strings of one or more words',
      'peer "node-b" tag="View Lock" said \'bye\'',
      'peer <*> tag=<*> said <*>',
    ],
    ['key=value keeps the key', 'user=42 uid=0 size:512 status=ok', 'user=<*> uid=<*> size:<*> status=ok'],
    [
      'object dumps in braces',
      'wtoken = AppWindowToken{9f4ef63 token=Token{a64f992 u0 t761}} hidden',
      'wtoken = AppWindowToken <*> hidden',
    ],
    ['literals', 'setLightsOn(true) ws=null', 'setLightsOn <*> ws=<*>'],
    [
      'the argument of a call',
      'LOGIN chdir(pwd) failed after jk2_init()',
      'LOGIN chdir <*> failed after jk2_init()',
    ],
    ['hex without a digit', 'vis=40000 mask=ffffffff', 'vis=<*> mask=<*>'],
    [
      'dot leaders',
      'program interrupt: illegal instruction......0',
      'program interrupt: illegal instruction <*>',
    ],
  ];
  it.each(cases)('%s', (_kind, message, masked) => {
    expect(maskVariables(message)).toBe(masked);
  });

  it('keeps the keyword of a quoted record: the HTTP method tells requests apart', () => {
    expect(maskVariables('10.11.10.1 "GET /v2/54fadb412c4e/servers/detail HTTP/1.1" status: 200')).toBe(
      '<*> "GET <*> status: <*>',
    );
  });

  it('keeps the message of a structured line as text', () => {
    expect(maskVariables('msg="Reconcile done" controller=deployment duration=35ms')).toBe(
      'msg="Reconcile done" controller=deployment duration=<*>',
    );
  });

  it('reads a JSON record as key=value fields with its message as text', () => {
    expect(
      maskVariables(
        '{"ts":"2024-05-01T10:00:00Z","level":"info","msg":"Reconcile done","ms":35,"ctx":{"a":1}}',
      ),
    ).toBe('ts=<*> level=info msg="Reconcile done" ms=<*> ctx= <*>');
    expect(maskVariables('{"level":"info","msg":"Reconcile done","ms":7}')).toBe(
      maskVariables('level=info msg="Reconcile done" ms=7'),
    );
  });

  it('collapses a list of values of varying length into one value', () => {
    expect(maskVariables('nodesets node-31 <ok> node-32 <ok> node-33 <ok>')).toBe(
      maskVariables('nodesets node-31 <ok> node-32 <ok>'),
    );
  });

  it('keeps words: digits inside words, apostrophes, Java packages, plain key values', () => {
    for (const word of [
      'SOCKS5',
      'utf8',
      'wl0',
      'org.apache.hadoop.mapred',
      'facade',
      'state_change.unavailable',
    ])
      expect(isVariable(word)).toBe(false);
    expect(maskVariables("Couldn't authenticate user")).toBe("Couldn't authenticate user");
    expect(maskVariables('Invalid user  from 1.2.3.4')).toBe('Invalid user from <*>'); // an empty name
    expect(maskVariables('connect via SOCKS5 proxy')).toBe('connect via SOCKS5 proxy');
  });

  it('is idempotent: a masked key masks to itself (the error summary mines masked keys)', () => {
    for (const message of [
      'peer "node-b" tag="View Lock" at 0x7fed806eb5d',
      'Stored rdd_2_1 as bytes in memory (estimated size 1.13 KB, free 3.4 GB)',
      '10.11.10.1 "GET /v2/x HTTP/1.1" status: 200',
    ]) {
      const masked = maskVariables(message);
      expect(maskVariables(masked)).toBe(masked);
      expect(maskedTokens(masked)).toEqual(maskedTokens(message));
    }
  });
});
