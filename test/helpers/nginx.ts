// nginx as a buffering reverse proxy in front of the test server: started by the test itself,
// in the foreground, on an ephemeral port, with its configuration, logs and temporary files in
// a temporary directory. Missing nginx is an error, never a skip (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Nginx {
  /** Base URL of the proxy. */
  readonly url: string;
  close(): Promise<void>;
}

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

function nginxBinary(): string {
  const found = CANDIDATES.find((path) => existsSync(path)) ?? spawnSync('sh', ['-c', 'command -v nginx']).stdout.toString().trim();
  if (found === '') {
    throw new Error('nginx is not installed: the proxy tests need it (apt-get install -y nginx; .ci/run installs it)');
  }
  return found;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** How nginx talks to the upstream server. */
export type UpstreamHttp =
  /** nginx's default: HTTP/1.0, a connection per request; it buffers a response that does not say otherwise. */
  | '1.0'
  /** What SSE guides recommend: HTTP/1.1 with kept-alive upstream connections. */
  | '1.1';

/**
 * The configuration: proxy_buffering on (nginx's default, spelled out), so that with HTTP/1.0
 * upstream only the response's `X-Accel-Buffering: no` makes it stream; gzip at its default (off).
 */
function config(dir: string, port: number, upstream: URL, http: UpstreamHttp): string {
  const keepalive = http === '1.1' ? '\n    keepalive 16;' : '';
  const version = http === '1.1' ? '\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";' : '';
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream chariot {
    server ${upstream.hostname}:${upstream.port};${keepalive}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://chariot;${version}
      proxy_buffering on;
    }
  }
}
`;
}

/** Starts nginx in front of `upstreamUrl` and resolves once it accepts connections. */
export async function startNginx(upstreamUrl: string, http: UpstreamHttp): Promise<Nginx> {
  const binary = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'chariot-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), config(dir, port, new URL(upstreamUrl), http));
  const child: ChildProcess = spawn(binary, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let exited: string | undefined;
  const exit = once(child, 'exit').then(([code, signal]) => {
    exited = code === null ? String(signal) : `code ${String(code)}`;
  });
  const log = (): string => {
    const file = join(dir, 'error.log');
    return `${stderr}${existsSync(file) ? readFileSync(file, 'utf8') : ''}`.trim();
  };
  const stop = async (): Promise<void> => {
    if (exited === undefined) child.kill('SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };
  // nginx says nothing when it is ready: poll its port, briefly.
  for (let tries = 0; tries < 250; tries++) {
    if (exited !== undefined) break;
    if (await canConnect(port)) return { url: `http://127.0.0.1:${port}`, close: stop };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const why = exited === undefined ? 'it did not listen within 5 s' : `it exited (${exited})`;
  const text = log();
  await stop();
  throw new Error(`nginx did not start: ${why}. ${text}`);
}
