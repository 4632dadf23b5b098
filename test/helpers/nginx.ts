// nginx as a buffering reverse proxy in front of the test server (or several, round robin):
// started by the test itself, in the foreground, on an ephemeral port, with its configuration,
// logs and temporary files in a temporary directory. Missing nginx is an error, never a skip
// (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

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
 * Several upstreams: one `server` line each, nginx's default round robin (no stickiness: Cookie
 * and Set-Cookie pass through untouched, and nothing pins a client to an instance), and
 * `proxy_next_upstream off`, so that a request that fails on one instance is never silently
 * retried on another: the client sees what the one instance it reached answered (unless
 * `failover`, for a rolling restart).
 */
function config(dir: string, port: number, upstreams: readonly URL[], http: UpstreamHttp, options: NginxOptions): string {
  // Tried in turn whatever failed before (a restarted instance is back at once).
  const failover = options.failover === true;
  const servers = upstreams.map((upstream) => `\n    server ${upstream.hostname}:${upstream.port}${failover ? ' max_fails=0' : ''};`).join('');
  const nextUpstream = upstreams.length > 1 && !failover ? '\n      proxy_next_upstream off;' : '';
  const keepalive = http === '1.1' ? '\n    keepalive 16;' : '';
  const version = http === '1.1' ? '\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";' : '';
  const host = options.passHost === true ? '\n      proxy_set_header Host $http_host;' : '';
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
  upstream chariot {${servers}${keepalive}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://chariot;${version}${host}
      proxy_buffering on;${nextUpstream}
    }
  }
}
`;
}

export interface NginxOptions {
  /**
   * Several upstreams: a request whose connection an instance refuses (it stopped listening:
   * draining, or not started yet) goes to the next, as nginx does by default
   * (`proxy_next_upstream error timeout`), instead of failing. Default false.
   */
  readonly failover?: boolean;
  /**
   * Pass the client's Host header on (`proxy_set_header Host $http_host`), as a site in front
   * of a browser UI does: the server's own origin is then the proxy's, which a browser's Origin
   * must match. Default false (nginx sends the upstream's name).
   */
  readonly passHost?: boolean;
}

/**
 * Starts nginx in front of `upstreamUrl` and resolves once it accepts connections. Given several
 * URLs, nginx spreads requests over them round robin, in that order, one request to one instance.
 */
export async function startNginx(upstreamUrl: string | readonly string[], http: UpstreamHttp, options: NginxOptions = {}): Promise<Nginx> {
  const upstreams = (typeof upstreamUrl === 'string' ? [upstreamUrl] : upstreamUrl).map((url) => new URL(url));
  if (upstreams.length === 0) throw new Error('startNginx: no upstream server');
  const binary = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'chariot-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), config(dir, port, upstreams, http, options));
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
