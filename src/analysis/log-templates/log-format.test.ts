import { describe, expect, it } from 'vitest';
import { groupMessages } from './group-messages.js';
import { guessContent, guessContents } from './header.js';
import { contentOf, parseLogFormat } from './log-format.js';

describe('log formats', () => {
  it('extracts the content with literal separators', () => {
    const format = parseLogFormat('<Date> <Time> <Level> [<Thread>] <Component>: <Content>');
    expect(contentOf('2026-11-21 10:00:01 INFO [main] web.Server: listening on :8080 (a: b)', format)).toBe(
      'listening on :8080 (a: b)',
    );
    expect(contentOf('not a header at all', format)).toBe('not a header at all');
  });

  it('reads optional parts, written plainly or escaped as a regular expression', () => {
    for (const written of [
      '<Month> <Date> <Time> <Host> <Component>([<PID>])?: <Content>',
      '<Month> <Date> <Time> <Host> <Component>(\\[<PID>\\])?: <Content>',
    ]) {
      const format = parseLogFormat(written);
      expect(contentOf('Jun 14 15:16:01 combo sshd(pam_unix)[19939]: session opened', format)).toBe(
        'session opened',
      );
      expect(contentOf('Jun 14 15:16:01 combo kernel: audit ok', format)).toBe('audit ok');
    }
  });

  it('keeps literal brackets and parentheses, and nested optional parts', () => {
    const proxy = parseLogFormat('[<Time>] <Program> - <Content>');
    expect(
      contentOf('[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy', proxy),
    ).toBe('proxy.cse.cuhk.edu.hk:5070 open through proxy');
    const mac = parseLogFormat('<Month>  <Date> <Time> <User> <Component>[<PID>]( (<Address>))?: <Content>');
    expect(contentOf('Jul  1 09:00:55 calvisitor kernel[0]: ARPT: 620701.011328: wl0: MDNS', mac)).toBe(
      'ARPT: 620701.011328: wl0: MDNS',
    );
    expect(contentOf('Jul  1 09:01:05 calvisitor QQ[10018] (com.tencent.qq): FA||Url||taskID', mac)).toBe(
      'FA||Url||taskID',
    );
  });

  it('requires a <Content> field', () => {
    expect(() => parseLogFormat('<Date> <Time>')).toThrow(/Content/);
  });
});

describe('headers without a format', () => {
  it.each([
    ['syslog with a host and a pid', 'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown'],
    ['syslog, component without pid', 'Jun 19 04:08:57 combo kernel: check pass; user unknown'],
    [
      'a component of several words',
      'Jul  1 09:01:05 authorMacBook-Pro Google Chrome Helper[7]: check pass; user unknown',
    ],
    [
      'Java with a thread',
      '2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: check pass; user unknown',
    ],
    [
      'ZooKeeper',
      '2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - check pass; user unknown',
    ],
    ['Android, one-letter level', '03-17 16:13:38.811  1702  2395 D WindowManager: check pass; user unknown'],
    ['Apache error log', '[Sun Dec 04 04:47:44 2005] [notice] check pass; user unknown'],
    ['fields joined by |', '20171223-22:15:29:606|Step_LSC|30002312|check pass; user unknown'],
    ['program and separator', '[10.30 16:49:06] chrome.exe - check pass; user unknown'],
    [
      'Spring Boot',
      '2024-02-11 08:00:01.123  INFO 1 --- [main] c.e.shop.OrderService : check pass; user unknown',
    ],
    ['logfmt', 'time="2024-05-01T10:00:00Z" level=info check pass; user unknown'],
    [
      'an upper-case level after names',
      '- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11 RAS KERNEL INFO check pass; user unknown',
    ],
  ])('%s', (_shape, line) => {
    expect(guessContent(line)).toBe('check pass; user unknown');
    expect(contentOf(line, undefined)).toBe('check pass; user unknown');
  });

  it('leaves a line without a header alone', () => {
    for (const line of [
      'disk /dev/sda1 at 91%',
      'Connection closed by 10.0.0.1 [preauth]',
      '42 requests served',
    ])
      expect(guessContent(line)).toBe(line);
    // One leading value is no header; a word with its value is a message word.
    expect(guessContent('42 files failed: disk full')).toBe('42 files failed: disk full');
    expect(guessContent('onExtend:1514038530000 0 0 4')).toBe('onExtend:1514038530000 0 0 4');
  });

  it('takes columns that are variables on every line, and the names between them, as header', () => {
    const lines = [
      '134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component alt0 is in the unavailable state',
      '2568643 node-70 action start 1074119817 1 boot (command 1902)',
      '2571927 node-28 action start 1074125371 1 halt (command 1903)',
    ];
    expect(guessContents(lines)).toEqual([
      'Component alt0 is in the unavailable state',
      'boot (command 1902)',
      'halt (command 1903)',
    ]);
    // A quoted record ends the columns: the request is the message.
    expect(guessContents(['1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326'])).toEqual([
      '"GET /a HTTP/1.0" 200 2326',
    ]);
  });

  it('groups lines the same with and without a format', () => {
    const format = parseLogFormat('<Date> <Time> <Level> <Component>: <Content>');
    const lines = [
      '2026-11-21 10:00:01 INFO Worker: Received block blk_1 of size 67108864 from /10.0.0.12',
      '2026-11-21 10:00:02 WARN Worker: Slow ack from peer "node-b", retrying',
      '2026-11-21 10:00:03 INFO Worker: Received block blk_2 of size 512 from /10.0.0.13',
      '2026-11-21 10:00:04 WARN Worker: Slow ack from peer "node-c", retrying',
    ];
    const withFormat = groupMessages(lines.map((line) => contentOf(line, format)));
    expect(groupMessages(guessContents(lines))).toEqual(withFormat);
    expect(withFormat.templates).toEqual([
      'Received block <*> of size <*> from <*>',
      'Slow ack from peer <*> retrying',
    ]);
  });
});
