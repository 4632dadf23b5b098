// A free TCP port on 127.0.0.1 for a process a test starts itself (nginx, redis-server): the
// kernel picks an ephemeral one, the probe lets it go, and the caller binds it a moment later.
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}
