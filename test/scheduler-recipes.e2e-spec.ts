import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import request from 'supertest';
import { parse as parseYaml, type Tags } from 'yaml';

import { listenOnLoopback } from './support/http-server';
import { TestQueues } from './support/queues';
import { runCommand } from './support/shell';
import { createTestApp, TEST_TOKEN, type TestApp } from './support/test-app';
import { uniquePrefix, useTestRedis, type TestRedis } from './support/test-redis';

const RECIPES = resolve(__dirname, '../docs/schedulers');
const PLACEHOLDER_BASE_URL = 'https://api.example.com';

/** CloudFormation short-form functions, kept as plain objects so that the template parses as YAML. */
const CLOUDFORMATION_TAGS: Tags = ['!Ref', '!Sub', '!GetAtt'].map((tag) => ({
  tag,
  resolve: (value: string) => ({ [tag.slice(1)]: value }),
}));

async function readRecipe(path: string): Promise<string> {
  return readFile(join(RECIPES, path), 'utf8');
}

/** Parses the JSON that curl printed, the drain endpoint's 200 body. */
function drainResponse(stdout: string): { stoppedBy: string; queues: Record<string, { processed: number }> } {
  return JSON.parse(stdout.trim()) as { stoppedBy: string; queues: Record<string, { processed: number }> };
}

describe('scheduler recipes', () => {
  let redis: TestRedis;
  let testApp: TestApp;
  let queues: TestQueues;
  let baseUrl: string;

  beforeAll(async () => {
    redis = await useTestRedis();
  });

  afterAll(async () => {
    await redis.stop();
  });

  /** Starts the API in cron mode with `env` and adds one job to seed-jobs, which every recipe drains. */
  async function startApi(env: Record<string, string | undefined> = {}): Promise<void> {
    const prefix = uniquePrefix();
    testApp = await createTestApp({ REDIS_URL: redis.url, QUEUE_KEY_PREFIX: prefix, ...env });
    baseUrl = await listenOnLoopback(testApp.app);
    queues = new TestQueues(redis.url, prefix);
    await queues.add('seed-jobs', 1);
  }

  afterEach(async () => {
    await queues.close();
    await testApp.close();
  });

  describe('GitHub Actions workflow', () => {
    it('runs its step script with the variable and the secret', async () => {
      await startApi();
      const workflow = parseYaml(await readRecipe('github-actions.yml')) as {
        on: { schedule: { cron: string }[] };
        jobs: { drain: { steps: { env: Record<string, string>; run: string }[] } };
      };
      const [step] = workflow.jobs.drain.steps;

      expect(workflow.on.schedule[0]?.cron).toBe('*/5 * * * *');
      expect(step!.env).toEqual({
        DRAIN_URL: '${{ vars.DRAIN_URL }}',
        DRAIN_QUEUES_TOKEN: '${{ secrets.DRAIN_QUEUES_TOKEN }}',
      });
      // GitHub runs a step's script with bash -e -o pipefail.
      const outcome = await runCommand('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', step!.run], {
        DRAIN_URL: baseUrl,
        DRAIN_QUEUES_TOKEN: TEST_TOKEN,
      });

      expect(outcome.stderr).toBe('');
      expect(outcome.exitCode).toBe(0);
      expect(drainResponse(outcome.stdout).queues['seed-jobs']?.processed).toBe(1);
    });
  });

  describe('AWS EventBridge template', () => {
    it('sends the API destination request with the connection header', async () => {
      await startApi();
      const template = parseYaml(await readRecipe('aws-eventbridge.yaml'), { customTags: CLOUDFORMATION_TAGS }) as {
        Resources: {
          DrainConnection: {
            Properties: {
              AuthorizationType: string;
              AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: string; ApiKeyValue: { Ref: string } } };
            };
          };
          DrainDestination: { Properties: { HttpMethod: string; InvocationEndpoint: { Sub: string } } };
          DrainSchedule: {
            Properties: {
              ScheduleExpression: string;
              Targets: { HttpParameters: { QueryStringParameters: Record<string, string> } }[];
            };
          };
        };
      };
      const connection = template.Resources.DrainConnection.Properties;
      const destination = template.Resources.DrainDestination.Properties;
      const target = template.Resources.DrainSchedule.Properties.Targets[0]!;

      expect(connection.AuthorizationType).toBe('API_KEY');
      expect(connection.AuthParameters.ApiKeyAuthParameters.ApiKeyValue).toEqual({ Ref: 'DrainQueuesToken' });
      expect(destination.InvocationEndpoint.Sub.startsWith('${ApiBaseUrl}/')).toBe(true);
      const path = destination.InvocationEndpoint.Sub.slice('${ApiBaseUrl}'.length);
      const event = { version: '0', id: 'test', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };

      // EventBridge sends the event as a JSON body, which the endpoint ignores.
      const agent = request(testApp.app.getHttpServer());
      const method = destination.HttpMethod.toLowerCase() as 'post';
      const response = await agent[method](path)
        .query(target.HttpParameters.QueryStringParameters)
        .set(connection.AuthParameters.ApiKeyAuthParameters.ApiKeyName, TEST_TOKEN)
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(JSON.stringify(event))
        .expect(200);

      expect(response.body.queues['seed-jobs'].processed).toBe(1);
    });
  });

  describe('Vercel cron entry', () => {
    it('is a GET with the CRON_SECRET bearer token', async () => {
      await startApi({ DRAIN_QUEUES_TOKEN: undefined, CRON_SECRET: TEST_TOKEN });
      const config = JSON.parse(await readRecipe('vercel.json')) as { crons: { path: string; schedule: string }[] };
      const [cron] = config.crons;

      // Vercel Cron sends GET with Authorization: Bearer <CRON_SECRET>.
      const response = await request(testApp.app.getHttpServer())
        .get(cron!.path)
        .set('Authorization', `Bearer ${TEST_TOKEN}`)
        .expect(200);

      expect(cron!.schedule).toBe('*/5 * * * *');
      expect(response.body.queues['seed-jobs'].processed).toBe(1);
    });
  });

  describe('cron-job.org settings', () => {
    it('sends the request from the settings table', async () => {
      await startApi();
      const settings = Object.fromEntries(
        [
          ...(await readRecipe('cron-job-org.md')).matchAll(/^\|\s*(URL|Request method|Header)\s*\|\s*(.+?)\s*\|$/gm),
        ].map(([, name, value]) => [name!, value!.replace(/`/g, '')]),
      );
      const url = new URL(settings.URL!);
      const [headerName, headerValue] = settings.Header!.split(': ');

      expect(url.origin).toBe(PLACEHOLDER_BASE_URL);
      expect(headerValue).toBe('<DRAIN_QUEUES_TOKEN>');
      const agent = request(testApp.app.getHttpServer());
      const method = settings['Request method']!.toLowerCase() as 'post';
      const response = await agent[method](`${url.pathname}${url.search}`).set(headerName!, TEST_TOKEN).expect(200);

      expect(response.body.queues['seed-jobs'].processed).toBe(1);
    });
  });

  describe('Kubernetes CronJob over HTTP', () => {
    it('runs its container command with the Secret', async () => {
      await startApi();
      const cronJob = parseYaml(await readRecipe('kubernetes-cronjob-http.yaml')) as {
        spec: {
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  containers: {
                    command: string[];
                    env: { name: string; value?: string; valueFrom?: { secretKeyRef: { key: string } } }[];
                  }[];
                };
              };
            };
          };
        };
      };
      const [container] = cronJob.spec.jobTemplate.spec.template.spec.containers;
      const [shell, ...shellArgs] = container!.command;
      const tokenVariable = container!.env.find((variable) => variable.valueFrom?.secretKeyRef !== undefined);

      expect(shell).toBe('/bin/sh');
      expect(tokenVariable?.name).toBe('DRAIN_QUEUES_TOKEN');
      const outcome = await runCommand('sh', shellArgs, { DRAIN_URL: baseUrl, DRAIN_QUEUES_TOKEN: TEST_TOKEN });

      expect(outcome.stderr).toBe('');
      expect(outcome.exitCode).toBe(0);
      expect(drainResponse(outcome.stdout).queues['seed-jobs']?.processed).toBe(1);
    });
  });

  describe('systemd service', () => {
    let credentials: string;

    beforeEach(async () => {
      credentials = await mkdtemp(join(tmpdir(), 'drain-credentials-'));
    });

    afterEach(async () => {
      await rm(credentials, { recursive: true, force: true });
    });

    it('runs ExecStart with the header credential file', async () => {
      await startApi();
      const unit = await readRecipe('systemd/drain-queues.service');
      const execStart = /^ExecStart=(.+)$/m.exec(unit)![1]!;
      const credential = /^LoadCredential=([^:]+):/m.exec(unit)![1]!;
      // The install steps write this line to the credential file.
      await writeFile(join(credentials, credential), `X-Cron-Secret: ${TEST_TOKEN}\n`, { mode: 0o600 });
      // %d is the credentials directory; systemd expands ${DRAIN_URL} from Environment= as the shell would.
      const command = execStart.replaceAll('%d', credentials);

      const outcome = await runCommand('bash', ['-c', command], { DRAIN_URL: baseUrl });

      expect(outcome.stderr).toBe('');
      expect(outcome.exitCode).toBe(0);
      expect(drainResponse(outcome.stdout).queues['seed-jobs']?.processed).toBe(1);
    });
  });

  describe('Docker Compose scheduler', () => {
    it('runs one round of its loop', async () => {
      await startApi();
      const compose = parseYaml(await readFile(resolve(__dirname, '../docker-compose.yml'), 'utf8')) as {
        services: { scheduler: { entrypoint: string[]; command: string[]; environment: Record<string, string> } };
      };
      const { entrypoint, command, environment } = compose.services.scheduler;
      // Compose turns $$ into $; the shell then expands the variables.
      const script = command[0]!.replaceAll('$$', '$');
      // A sleep function that exits ends the loop after its first call.
      const oneRound = `sleep() { exit 0; }\n${script}`;

      expect(entrypoint).toEqual(['/bin/sh', '-c']);
      expect(environment.DRAIN_URL).toBe('http://api:3000');
      const outcome = await runCommand('sh', ['-c', oneRound], {
        DRAIN_URL: baseUrl,
        DRAIN_QUEUES_TOKEN: TEST_TOKEN,
        DRAIN_INTERVAL_SECONDS: '120',
      });

      expect(outcome.stderr).toBe('');
      expect(drainResponse(outcome.stdout).queues['seed-jobs']?.processed).toBe(1);
    });
  });
});
