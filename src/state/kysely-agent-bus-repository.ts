// The embedded agent bus's tables over Kysely, for SQLite and PostgreSQL. A claim is one UPDATE … RETURNING: on
// PostgreSQL its subquery takes the rows FOR UPDATE SKIP LOCKED, so concurrent consumers of a group pass each
// other; on SQLite the statement is a write transaction of its own, which serialises claimers across processes.
import { sql, type Kysely } from 'kysely';
import type { Database, Dialect } from './database.js';
import type { AgentBusClaim, AgentBusMessage, AgentBusParkedRecord, AgentBusRepository } from './ports.js';

export class KyselyAgentBusRepository implements AgentBusRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  append(message: AgentBusMessage): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // Insert first: on SQLite the transaction then holds the write lock from its first statement.
      const inserted = await trx
        .insertInto('agent_bus_events')
        .values({
          id: message.id,
          topic: message.topic,
          tenant: message.tenant,
          published_at: message.publishedAt,
          body: message.body,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .returning('seq')
        .executeTakeFirst();
      if (inserted === undefined) return false;
      await trx
        .insertInto('agent_bus_deliveries')
        .columns(['group_name', 'event_seq', 'topic', 'delivery_count', 'available_at', 'consumer'])
        .expression((eb) =>
          eb
            .selectFrom('agent_bus_groups')
            // Typed casts: PostgreSQL would take bare parameters in a select list as text.
            .select([
              'group_name',
              sql<number>`cast(${Number(inserted.seq)} as bigint)`.as('event_seq'),
              'topic',
              sql<number>`cast(0 as integer)`.as('delivery_count'),
              sql<number>`cast(${message.publishedAt} as bigint)`.as('available_at'),
              sql<null>`null`.as('consumer'),
            ])
            .where('topic', '=', message.topic),
        )
        .execute();
      return true;
    });
  }

  async ensureGroup(group: string, topic: string, now: number): Promise<void> {
    await this.db
      .insertInto('agent_bus_groups')
      .values({ group_name: group, topic, created_at: now })
      .onConflict((conflict) => conflict.columns(['group_name', 'topic']).doNothing())
      .execute();
  }

  async claim(query: {
    group: string;
    consumer: string;
    topics: readonly string[];
    now: number;
    leaseUntil: number;
    limit: number;
  }): Promise<AgentBusClaim[]> {
    if (query.topics.length === 0) return [];
    // A materialised CTE: as a plain IN (subquery) PostgreSQL may run the LIMITed, SKIP LOCKED subquery more
    // than once and so claim more rows than asked.
    const claimed = await this.db
      .with(
        (cte) => cte('due').materialized(),
        (db) => {
          const due = db
            .selectFrom('agent_bus_deliveries')
            .select('event_seq')
            .where('group_name', '=', query.group)
            .where('topic', 'in', [...query.topics])
            .where('available_at', '<=', query.now)
            .orderBy('event_seq')
            .limit(query.limit);
          return this.dialect === 'postgres' ? due.forUpdate().skipLocked() : due;
        },
      )
      .updateTable('agent_bus_deliveries')
      .from('due')
      .set((eb) => ({
        delivery_count: eb('agent_bus_deliveries.delivery_count', '+', 1),
        available_at: query.leaseUntil,
        consumer: query.consumer,
      }))
      .whereRef('agent_bus_deliveries.event_seq', '=', 'due.event_seq')
      .where('agent_bus_deliveries.group_name', '=', query.group)
      // Checked again outside the CTE: on PostgreSQL a row may have been claimed since it was selected.
      .where('agent_bus_deliveries.available_at', '<=', query.now)
      .returning([
        'agent_bus_deliveries.event_seq',
        'agent_bus_deliveries.topic',
        'agent_bus_deliveries.delivery_count',
      ])
      .execute();
    if (claimed.length === 0) return [];
    const bodies = await this.db
      .selectFrom('agent_bus_events')
      .select(['seq', 'body'])
      .where(
        'seq',
        'in',
        claimed.map((row) => Number(row.event_seq)),
      )
      .execute();
    const bodyBySeq = new Map(bodies.map((row) => [Number(row.seq), row.body]));
    return claimed
      .map((row) => ({
        seq: Number(row.event_seq),
        topic: row.topic,
        deliveryCount: row.delivery_count,
        // An event pruned under a pending delivery cannot happen (prune keeps them); empty text would be parked.
        body: bodyBySeq.get(Number(row.event_seq)) ?? '',
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  complete(group: string, seq: number, eventId: string, now: number): Promise<void> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('agent_bus_processed')
        .values({ group_name: group, event_id: eventId, processed_at: now })
        .onConflict((conflict) => conflict.columns(['group_name', 'event_id']).doNothing())
        .execute();
      await trx
        .deleteFrom('agent_bus_deliveries')
        .where('group_name', '=', group)
        .where('event_seq', '=', seq)
        .execute();
    });
  }

  async release(group: string, seq: number, availableAt: number): Promise<void> {
    await this.db
      .updateTable('agent_bus_deliveries')
      .set({ available_at: availableAt })
      .where('group_name', '=', group)
      .where('event_seq', '=', seq)
      .execute();
  }

  async extend(group: string, seq: number, consumer: string, leaseUntil: number): Promise<boolean> {
    const result = await this.db
      .updateTable('agent_bus_deliveries')
      .set({ available_at: leaseUntil })
      .where('group_name', '=', group)
      .where('event_seq', '=', seq)
      .where('consumer', '=', consumer)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  park(
    group: string,
    seq: number,
    entry: { eventId: string | null; reason: string; deliveryCount: number; parkedAt: number },
  ): Promise<void> {
    return this.db.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom('agent_bus_deliveries')
        .where('group_name', '=', group)
        .where('event_seq', '=', seq)
        .returning('topic')
        .executeTakeFirst();
      // Already acknowledged or parked by another consumer whose lease overlapped: nothing to move.
      if (removed === undefined) return;
      const event = await trx
        .selectFrom('agent_bus_events')
        .select('body')
        .where('seq', '=', seq)
        .executeTakeFirst();
      await trx
        .insertInto('agent_bus_parked')
        .values({
          group_name: group,
          event_id: entry.eventId,
          topic: removed.topic,
          reason: entry.reason,
          delivery_count: entry.deliveryCount,
          parked_at: entry.parkedAt,
          body: event?.body ?? '',
        })
        .execute();
    });
  }

  async isProcessed(group: string, eventId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('agent_bus_processed')
      .select('event_id')
      .where('group_name', '=', group)
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async listParked(group: string, limit: number): Promise<AgentBusParkedRecord[]> {
    const rows = await this.db
      .selectFrom('agent_bus_parked')
      .selectAll()
      .where('group_name', '=', group)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      group: row.group_name,
      eventId: row.event_id,
      topic: row.topic,
      reason: row.reason,
      deliveryCount: row.delivery_count,
      parkedAt: Number(row.parked_at),
      body: row.body,
    }));
  }

  async prune(processedBefore: number, eventsBefore: number): Promise<{ processed: number; events: number }> {
    const processed = await this.db
      .deleteFrom('agent_bus_processed')
      .where('processed_at', '<', processedBefore)
      .executeTakeFirst();
    const events = await this.db
      .deleteFrom('agent_bus_events')
      .where('published_at', '<', eventsBefore)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('agent_bus_deliveries')
              .select('event_seq')
              .whereRef('agent_bus_deliveries.event_seq', '=', 'agent_bus_events.seq'),
          ),
        ),
      )
      .executeTakeFirst();
    return { processed: Number(processed.numDeletedRows), events: Number(events.numDeletedRows) };
  }
}
