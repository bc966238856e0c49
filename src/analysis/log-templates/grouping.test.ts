import { describe, expect, it } from 'vitest';
import { styles, syntheticLog } from './fixtures/synthetic-logs.js';
import { groupMessages, groupWeightedKeys } from './group-messages.js';
import { guessContents } from './header.js';
import { TemplateMiner, templateText } from './template-miner.js';

/** Whether two labellings of the same items are the same partition. */
function samePartition(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  const forward = new Map<string | number, string | number>();
  const backward = new Map<string | number, string | number>();
  return a.every((left, index) => {
    const right = b[index] ?? '';
    if ((forward.get(left) ?? right) !== right || (backward.get(right) ?? left) !== left) return false;
    forward.set(left, right);
    backward.set(right, left);
    return true;
  });
}

const events = (log: readonly { event: string }[]): string[] => log.map((line) => line.event);

describe('groupMessages: grouping behaviours', () => {
  it('takes a variable of varying length as one value: quoted tags, lists, object dumps', () => {
    const messages = [
      'acquire lock=166121161, tag="View Lock", uid=1000',
      'acquire lock=166121162, tag="*alarm*", uid=1001',
      'acquire lock=166121163, tag="Audio Mix Lock", uid=1002',
      'inconsistent nodesets node-31 0x1fffffffe <ok> node-0 0xfffffffe <ok>',
      'inconsistent nodesets node-31 0x1fffffffe <ok>',
      'Skipping AppWindowToken{df0798e token=Token{78af589 u0 t761}} -- going to hide',
      'Skipping AppWindowToken{a1 token=Token{b2 ActivityRecord{c3 u0 com.x/.Main t7}}} -- going to hide',
    ];
    expect(groupMessages(messages).groups).toEqual([0, 0, 0, 1, 1, 2, 2]);
  });

  it('splits on a closed set of recurring words that name the event', () => {
    const messages = ['VM Started', 'VM Paused', 'VM Started', 'VM Paused', 'onStandStepChanged 3579'];
    const { groups, templates } = groupMessages(messages);
    expect(groups).toEqual([0, 1, 0, 1, 2]);
    expect(templates).toEqual(['VM Started', 'VM Paused', 'onStandStepChanged <*>']);
  });

  it('does not split on a closed set that is a parameter: the object of a preposition, many values', () => {
    const users = ['root', 'root', 'admin', 'admin', 'root', 'test', 'test'];
    const failed = groupMessages(
      users.map((user, index) => `Failed password for ${user} from 10.0.0.${index} port 22 ssh2`),
    );
    expect(new Set(failed.groups).size).toBe(1);
    expect(failed.templates).toEqual(['Failed password for <*> from <*> port <*> ssh2']);
    const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'alice'].map((name) => `worker ${name} joined`);
    expect(new Set(groupMessages(names).groups).size).toBe(1);
  });

  it('keeps apart distinct events that share a prefix', () => {
    const messages = [
      'Took 0.24 seconds to spawn the instance on the hypervisor.',
      'Took 1.30 seconds to destroy the instance on the hypervisor.',
      'Took 0.31 seconds to spawn the instance on the hypervisor.',
      'Took 2.02 seconds to destroy the instance on the hypervisor.',
      'Took 4.50 seconds to build instance.',
      'Connection closed by 10.0.0.1 [preauth]',
      'Connection reset by 10.0.0.2',
    ];
    expect(groupMessages(messages).groups).toEqual([0, 1, 0, 1, 2, 3, 4]);
  });

  it('does not depend on the order of the lines and gives the same answer every time', () => {
    const log = syntheticLog('sshd', 200, 11);
    const messages = log.map((line) => line.line);
    const once = groupMessages(messages);
    expect(groupMessages(messages)).toEqual(once);
    const order = messages.map((_, index) => index).reverse();
    const reversed = groupMessages(order.map((index) => messages[index] ?? ''));
    const back = new Array<number>(messages.length);
    order.forEach((index, position) => (back[index] = reversed.groups[position] ?? -1));
    expect(samePartition(back, once.groups)).toBe(true);
  });
});

describe('logs in the shapes of other systems (synthetic, see fixtures/synthetic-logs.ts)', () => {
  for (const style of Object.keys(styles)) {
    it(`${style}: one group per event, with the header cut by a format, guessed, or absent`, () => {
      const log = syntheticLog(style, 240);
      const definition = styles[style];
      expect(definition).toBeDefined();
      // With a format the miner sees only the message: strip the generated header exactly.
      const withFormat = groupMessages(log.map((line) => line.text));
      expect(samePartition(withFormat.groups, events(log))).toBe(true);
      const guessed = groupMessages(guessContents(log.map((line) => line.line)));
      expect(samePartition(guessed.groups, events(log))).toBe(true);
      // Guessing a header where there is none must not cost anything either.
      const bare = groupMessages(guessContents(log.map((line) => line.text)));
      expect(samePartition(bare.groups, events(log))).toBe(true);
    });
  }
});

describe('template miner (online)', () => {
  it('joins messages of one kind and turns differing words into variables', () => {
    const miner = new TemplateMiner();
    const a = miner.add('Connection to db-primary refused');
    const b = miner.add('Connection to db-replica refused');
    const c = miner.add('Disk full on /var');
    expect(b.id).toBe(a.id);
    expect(c.id).not.toBe(a.id);
    expect(templateText(b)).toBe('Connection to <*> refused');
    expect(miner.match('Connection to cache refused')?.id).toBe(a.id);
    expect(miner.match('Disk full on /home')?.id).toBe(c.id);
    expect(miner.templates()).toHaveLength(2);
  });

  it('counts weights and takes masked keys', () => {
    const miner = new TemplateMiner();
    miner.add('timeout after <*>', 5);
    expect(miner.add('timeout after 30 ms', 2).size).toBe(7);
  });

  it('does not join messages that share only variables', () => {
    const miner = new TemplateMiner();
    const a = miner.add('10.0.0.1 up 5');
    const b = miner.add('10.0.0.2 gone 7');
    expect(b.id).not.toBe(a.id);
    expect(miner.add('<*>').id).toBe(miner.add('42').id); // a message that is all variables joins its shape
  });
});

describe('groupWeightedKeys', () => {
  it('groups keys weighted by their lines as groupMessages groups the lines themselves', () => {
    const keys = [
      { key: 'screen action SCREEN_ON', weight: 1 },
      { key: 'screen action SCREEN_OFF', weight: 3 },
      { key: 'user alice logged in', weight: 2 },
      { key: 'user bob logged in', weight: 1 },
      { key: 'user carol logged in', weight: 1 },
      { key: 'user dave logged in', weight: 1 },
      { key: 'user erin logged in', weight: 1 },
    ];
    const lines = keys.flatMap(({ key, weight }) => Array.from({ length: weight }, () => key));
    const byLine = groupMessages(lines);
    const byKey = groupWeightedKeys(keys);
    const expanded = keys.flatMap(({ weight }, index) =>
      Array.from({ length: weight }, () => byKey.templates[byKey.groups[index] ?? 0]),
    );
    expect(expanded).toEqual(byLine.groups.map((group) => byLine.templates[group]));
    // SCREEN_ON is seen once, SCREEN_OFF three times: a closed set whose words are events.
    expect(new Set(byKey.templates)).toEqual(
      new Set(['screen action SCREEN_ON', 'screen action SCREEN_OFF', 'user <*> logged in']),
    );
  });
});
