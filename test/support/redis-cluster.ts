import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { Cluster, Redis, type RedisOptions } from 'ioredis';

import { freePorts, RedisServer, type RedisServerOptions } from './redis-server';
import { waitUntil } from './wait-until';

const run = promisify(execFile);

/**
 * A throw-away Redis Cluster of masters without replicas: `redis-server`
 * processes in cluster mode on free loopback ports, joined with
 * `redis-cli --cluster create`. Each node keeps its nodes.conf in a temporary
 * directory that `stop()` deletes.
 */
export class RedisCluster {
  private constructor(
    readonly nodes: readonly RedisServer[],
    private readonly options: ClusterOptions,
  ) {}

  /** URL of the first node, the seed that the application is given. */
  get url(): string {
    return this.nodes[0]!.url;
  }

  /**
   * Starts `masters` nodes, assigns the slots and waits until every node
   * reports `cluster_state:ok`. Every node requires `options.password` and
   * serves TLS with `options.tls` when they are given.
   */
  static async start(masters = 3, options: ClusterOptions = {}): Promise<RedisCluster> {
    const ports = await freePorts(masters * 2);
    const nodes: RedisServer[] = [];
    const cluster = new RedisCluster(nodes, options);
    try {
      for (let index = 0; index < masters; index += 1) {
        nodes.push(await RedisServer.start({ ...options, clusterBusPort: ports[masters + index]! }, ports[index]));
      }
      const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
      await run('redis-cli', [
        ...cliConnectionArguments(options),
        ...['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      ]);
      await cluster.waitUntilStateOk();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** Creates a client of the whole cluster for producers and checks, seeded with the first node. */
  client(): Cluster {
    return new Cluster([{ host: '127.0.0.1', port: this.nodes[0]!.port }], {
      redisOptions: { maxRetriesPerRequest: null, ...this.nodeOptions() },
    });
  }

  /** Returns the port of the node that serves the hash slot of `key`. */
  async portServing(key: string): Promise<number> {
    const seed = new Redis(this.url, { lazyConnect: true, ...this.nodeOptions() });
    try {
      const slot = Number(await seed.cluster('KEYSLOT', key));
      const ranges = await seed.cluster('SLOTS');
      const primary = ranges.find(([first, last]) => first <= slot && slot <= last)?.[2];
      if (primary === undefined) {
        throw new Error(`No node serves hash slot ${slot}.`);
      }
      return primary[1];
    } finally {
      seed.disconnect();
    }
  }

  /** Returns the password and the CA that a client of one node needs. */
  nodeOptions(): Pick<RedisOptions, 'password' | 'tls'> {
    const { password, tls } = this.options;
    return {
      ...(password === undefined ? {} : { password }),
      ...(tls === undefined ? {} : { tls: { ca: readFileSync(tls.caFile) } }),
    };
  }

  /** Kills every node by its process id and deletes its directory. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.destroy()));
  }

  /**
   * Polls CLUSTER INFO on every node: `redis-cli --cluster create` returns once
   * the slots are assigned, but each node reports the cluster as usable only
   * after the nodes have agreed on the configuration over the cluster bus.
   */
  private async waitUntilStateOk(): Promise<void> {
    const clients = this.nodes.map((node) => new Redis(node.url, { lazyConnect: true, ...this.nodeOptions() }));
    try {
      await waitUntil(async () => {
        const infos = await Promise.all(clients.map((client) => client.cluster('INFO')));
        return infos.every((info) => String(info).includes('cluster_state:ok'));
      }, 'every cluster node reports cluster_state:ok');
    } finally {
      clients.forEach((client) => client.disconnect());
    }
  }
}

/** Settings that every node of a cluster shares. */
export type ClusterOptions = Pick<RedisServerOptions, 'password' | 'tls'>;

/** Returns the `redis-cli` options that connect to a node with these settings. */
function cliConnectionArguments({ password, tls }: ClusterOptions): string[] {
  return [
    ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
    ...(tls === undefined ? [] : ['--tls', '--cacert', tls.caFile]),
  ];
}
