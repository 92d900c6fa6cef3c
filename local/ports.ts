import { createServer } from 'node:net';

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

export const DEFAULT_API_PORT = 3000;
/** Each endpoint's offset from ROLLOUT_PORT, and the variable that overrides its port. */
const ENDPOINT_PORTS = {
  dynamodb: { offset: 1, env: 'ROLLOUT_PORT_DYNAMODB' },
  sfn: { offset: 2, env: 'ROLLOUT_PORT_SFN' },
  ecs: { offset: 3, env: 'ROLLOUT_PORT_ECS' },
  eventbridge: { offset: 4, env: 'ROLLOUT_PORT_EVENTBRIDGE' },
  cloudwatch: { offset: 5, env: 'ROLLOUT_PORT_CLOUDWATCH' },
} as const;

export type LocalPorts = { api: number } & Record<keyof typeof ENDPOINT_PORTS, number>;

function port(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new Error(`${name} must be a port number (0-65535), got "${raw}"`);
  }
  return value;
}

/**
 * Stable ports, so `aws --endpoint-url` and other tools find the endpoints again after a restart:
 * the API on ROLLOUT_PORT (3000) and each endpoint on ROLLOUT_PORT + its offset, unless its own
 * variable names another port. ROLLOUT_PORT=0 asks for free ports everywhere not named.
 */
export function localPorts(env: NodeJS.ProcessEnv = process.env): LocalPorts {
  const api = port('ROLLOUT_PORT', env.ROLLOUT_PORT) ?? DEFAULT_API_PORT;
  const ports = { api } as LocalPorts;
  for (const [endpoint, { offset, env: name }] of Object.entries(ENDPOINT_PORTS)) {
    const derived = api === 0 ? 0 : api + offset;
    if (derived > 65_535) throw new Error(`ROLLOUT_PORT ${api} leaves no room for ${endpoint} (+${offset})`);
    ports[endpoint as keyof typeof ENDPOINT_PORTS] = port(name, env[name]) ?? derived;
  }
  return ports;
}
