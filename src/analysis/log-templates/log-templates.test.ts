import { describe, expect, it } from 'vitest';
import { groupMessages } from './group-messages.js';
import { contentOf, parseLogFormat } from './log-format.js';
import { isVariable, maskVariables } from './mask.js';
import { TemplateMiner, templateText } from './template-miner.js';

describe('masking', () => {
  it('masks numbers, ids, addresses, hex, sizes with units and grouped values', () => {
    expect(maskVariables('Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6')).toBe(
      'Received block <*> of size <*> from <*>',
    );
    expect(maskVariables('request took 35 ms (retry 2)')).toBe('request took <*>'); // one run of values
    expect(maskVariables('user=42 status=ok id=0x7f3a9b2c11')).toBe('user=<*> status=ok id=<*>');
    expect(maskVariables('Stored rdd_2_1 as bytes in memory (estimated size 1.13 KB, free 3.4 GB)')).toBe(
      'Stored <*> as bytes in memory <*>',
    );
  });

  it('keeps digits that are part of a word', () => {
    expect(isVariable('SOCKS5')).toBe(false);
    expect(isVariable('utf8')).toBe(false);
    expect(isVariable('ip-10-0-0-1')).toBe(true);
    expect(isVariable('Tue')).toBe(true);
    expect(maskVariables('connect via SOCKS5 proxy')).toBe('connect via SOCKS5 proxy');
  });
});

describe('template miner', () => {
  it('joins messages of one kind and turns differing words into variables', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Connection to db-primary refused');
    const b = miner.add('Connection to db-replica refused');
    const c = miner.add('Disk full on /var');
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect(templateText(b)).toBe('Connection to <*> refused');
    expect(miner.match('Connection to cache refused')?.id).toBe(a.id);
    expect(miner.templates()).toHaveLength(2);
  });

  it('counts weights', () => {
    const miner = new TemplateMiner();
    miner.add('timeout after <*> ms', 5);
    expect(miner.add('timeout after 30 ms', 2).size).toBe(7);
  });
});

describe('groupMessages', () => {
  it('splits a template on a small closed set of recurring words, and numbers groups by first message', () => {
    const messages = [
      'onStandStepChanged 3579',
      'screen action SCREEN_ON',
      'screen action SCREEN_OFF',
      'screen action SCREEN_ON',
      'screen action SCREEN_OFF',
      'onStandStepChanged 3580',
    ];
    const { groups, templates } = groupMessages(messages);
    expect(groups).toEqual([0, 1, 2, 1, 2, 0]);
    expect(templates).toEqual([
      'onStandStepChanged <*>',
      'screen action SCREEN_ON',
      'screen action SCREEN_OFF',
    ]);
  });

  it('does not split on many distinct values: they are parameters', () => {
    const messages = [
      'user alice logged in',
      'user bob logged in',
      'user carol logged in',
      'user dave logged in',
      'user erin logged in',
      'user alice logged in',
    ];
    const { groups, templates } = groupMessages(messages);
    expect(new Set(groups).size).toBe(1);
    expect(templates).toEqual(['user <*> logged in']);
  });
});

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
