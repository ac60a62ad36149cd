import type { Cluster, Redis } from 'ioredis';

import type { QueueName } from '../../queues/queue-names';

/** State of one queue as a probe found it. Counts are numbers of jobs. */
export interface QueueProbe {
  readonly paused: boolean;
  /** Waiting plus prioritized jobs. */
  readonly waiting: number;
  /** Delayed jobs that are already due; BullMQ promotes them when a job is fetched. */
  readonly due: number;
  /** Active jobs whose lock has expired, left by a consumer that crashed. */
  readonly expiredLocks: number;
  /** Delayed jobs that are not due yet. */
  readonly delayed: number;
  /** Epoch milliseconds at which the earliest delayed job is due, or `null`. */
  readonly nextDueAt: number | null;
}

/** Jobs that a consumer could take right now. */
export function runnableJobs(probe: QueueProbe): number {
  return probe.waiting + probe.due + probe.expiredLocks;
}

/**
 * Active jobs inspected per queue for an expired lock. A healthy queue has at
 * most its consumers' concurrency in this list, so the bound only caps the
 * work of one script call on a queue left in a bad state.
 */
export const MAX_ACTIVE_JOBS_INSPECTED = 1_000;

const KEYS_PER_QUEUE = 5;

/**
 * Reads the state of several queues in one script call, so that an idle
 * drain costs one command whatever the number of queues. It only reads.
 *
 * Delayed jobs are scored `timestamp * 0x1000 + counter` by BullMQ 5 and 6;
 * a job is due when its score is at most `(now + 1) * 0x1000 - 1`, the bound
 * that BullMQ's own `promoteDelayedJobs` uses. A job's lock is the key
 * `<prefix>:<queue>:<id>:lock`; an active job without it has been abandoned.
 *
 * On Redis Cluster every key of one call must live in one slot, which a key
 * prefix with a hash tag such as `{bull}` guarantees.
 */
const PROBE_SCRIPT = `
local dueMaxScore = ARGV[1]
local maxActive = tonumber(ARGV[2])
local results = {}
for queue = 1, #KEYS / ${KEYS_PER_QUEUE} do
  local base = (queue - 1) * ${KEYS_PER_QUEUE}
  local metaKey, waitKey, prioritizedKey, delayedKey, activeKey =
    KEYS[base + 1], KEYS[base + 2], KEYS[base + 3], KEYS[base + 4], KEYS[base + 5]
  local jobKeyPrefix = ARGV[2 + queue]

  local paused = redis.call("HEXISTS", metaKey, "paused")
  local waiting = redis.call("LLEN", waitKey) + redis.call("ZCARD", prioritizedKey)
  local due = redis.call("ZCOUNT", delayedKey, "-inf", dueMaxScore)
  local delayed = redis.call("ZCARD", delayedKey) - due
  local nextDueAt = -1
  if delayed > 0 then
    local first = redis.call("ZRANGEBYSCORE", delayedKey, "(" .. dueMaxScore, "+inf", "WITHSCORES", "LIMIT", 0, 1)
    nextDueAt = math.floor(tonumber(first[2]) / 0x1000)
  end

  local expiredLocks = 0
  for _, jobId in ipairs(redis.call("LRANGE", activeKey, 0, maxActive - 1)) do
    if redis.call("EXISTS", jobKeyPrefix .. jobId .. ":lock") == 0 then
      expiredLocks = expiredLocks + 1
    end
  end

  results[queue] = { paused, waiting, due, expiredLocks, delayed, nextDueAt }
end
return results
`;

const PROBE_COMMAND = 'drainProbeQueues';

type ProbeReply = [number, number, number, number, number, number][];

interface ProbeCommand {
  [PROBE_COMMAND](...args: (string | number)[]): Promise<ProbeReply>;
}

/**
 * Probes `queues` with one script call and returns their state by name.
 *
 * @param now Epoch milliseconds that decide which delayed jobs are due. BullMQ
 * also uses the client's clock for this decision.
 */
export async function probeQueues(
  client: Redis | Cluster,
  keyPrefix: string,
  queues: readonly QueueName[],
  now: number,
): Promise<Map<QueueName, QueueProbe>> {
  if (queues.length === 0) {
    return new Map();
  }
  if (!(PROBE_COMMAND in client)) {
    client.defineCommand(PROBE_COMMAND, { lua: PROBE_SCRIPT });
  }

  const keys = queues.flatMap((queue) =>
    ['meta', 'wait', 'prioritized', 'delayed', 'active'].map((type) => `${keyPrefix}:${queue}:${type}`),
  );
  const dueMaxScore = String((now + 1) * 0x1000 - 1);
  const jobKeyPrefixes = queues.map((queue) => `${keyPrefix}:${queue}:`);
  const reply = await (client as unknown as ProbeCommand)[PROBE_COMMAND](
    keys.length,
    ...keys,
    dueMaxScore,
    MAX_ACTIVE_JOBS_INSPECTED,
    ...jobKeyPrefixes,
  );

  return new Map(
    queues.map((queue, index) => {
      const [paused, waiting, due, expiredLocks, delayed, nextDueAt] = reply[index] ?? [0, 0, 0, 0, 0, -1];
      const probe: QueueProbe = {
        paused: paused === 1,
        waiting,
        due,
        expiredLocks,
        delayed,
        nextDueAt: nextDueAt < 0 ? null : nextDueAt,
      };
      return [queue, probe];
    }),
  );
}
