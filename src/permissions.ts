// What the service needs from Node's permission model (`npm start` runs under it; README
// "Permissions"): main.ts checks it before anything starts, and refuses to start, naming the
// flag, rather than failing later inside a worker thread.
import { fileURLToPath } from 'node:url';

/** One permission the service needs and the process does not have. */
export interface MissingPermission {
  /** What is denied, e.g. "worker threads". */
  readonly what: string;
  /** The node flag that grants it, e.g. "--allow-worker". */
  readonly flag: string;
}

/** dist/src/permissions.js → the app folder (the package root). */
export const APP_FOLDER = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

/** isolated-vm's loader (node-gyp-build) looks for this file to pick its prebuilt binary, on Linux. */
const ALPINE_RELEASE = '/etc/alpine-release';

type Has = (scope: string, reference?: string) => boolean;

/**
 * process.permission, which exists only under --permission (@types/node 24 types it as always
 * there, and does not know drop(), which Node 24 has).
 */
function permissionModel(): (NodeJS.ProcessPermission & { drop(scope: string): void }) | undefined {
  return process.permission as (NodeJS.ProcessPermission & { drop(scope: string): void }) | undefined;
}

/**
 * The permissions the service needs that `has` (process.permission.has) denies, in the order
 * of the README's table. `knowsNet`: this Node has a network scope (Node 25 and later, where
 * listening on a port needs --allow-net).
 */
export function missingPermissions(has: Has, knowsNet: boolean, platform: NodeJS.Platform): MissingPermission[] {
  const needs: Array<MissingPermission & { readonly granted: boolean }> = [
    // Node stops its search for package.json ("type": "module") at the first folder it may not
    // read, so the folder itself must be readable, not only dist/ and node_modules/ in it.
    { what: `reading the app folder ${APP_FOLDER}`, flag: `--allow-fs-read=${APP_FOLDER}`, granted: has('fs.read', APP_FOLDER) },
    { what: `reading ${ALPINE_RELEASE} (isolated-vm's loader)`, flag: `--allow-fs-read=${ALPINE_RELEASE}`, granted: platform !== 'linux' || has('fs.read', ALPINE_RELEASE) },
    { what: 'worker threads', flag: '--allow-worker', granted: has('worker') },
    { what: 'native addons (isolated-vm)', flag: '--allow-addons', granted: has('addon') },
    { what: 'the network (listening on a port)', flag: '--allow-net', granted: !knowsNet || has('net') },
  ];
  return needs.filter((need) => !need.granted).map(({ what, flag }) => ({ what, flag }));
}

/**
 * What this process lacks: undefined when it does not run under the permission model at all,
 * else the missing permissions (none when it may start).
 */
export function checkPermissions(): MissingPermission[] | undefined {
  const permission = permissionModel();
  if (permission === undefined) return undefined;
  const knowsNet = process.allowedNodeEnvironmentFlags.has('--allow-net');
  return missingPermissions((scope, reference) => permission.has(scope, reference), knowsNet, process.platform);
}

/**
 * Gives up, in the main thread, loading addons: it loads none, and the worker threads take their
 * grants from the command line, not from this thread (each gives up its own once it has loaded
 * isolated-vm: worker/index.ts). Starting threads stays allowed here: Piscina replaces a worker
 * that died.
 */
export function dropMainThreadGrants(): void {
  permissionModel()?.drop('addon');
}

/** The one line that refuses start-up. */
export function refusal(missing: readonly MissingPermission[]): string {
  const what = missing.map((need) => need.what).join(', ');
  const flags = missing.map((need) => need.flag).join(' ');
  return `chariot-exec: the permission model denies ${what}: start node with ${flags} (see README "Permissions")`;
}

/** The one line printed when the process does not run under the permission model. */
export const UNGUARDED_WARNING = 'chariot-exec: warning: not running under the Node permission model; '
  + '`npm start` runs the service under it (see README "Permissions")';
