// Debian's Chromium driven by playwright-core, for the UI tests. `.ci/run` installs the
// `chromium` package; a test run without it fails with a message saying so (never a skip).
import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a headless Chromium on a machine with no network and no GPU, run as root. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  /** A page in a context of its own: its own cookies, so its own session. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts Chromium. Playwright's launch() gives every browser a fresh temporary user-data-dir
 * of its own (and removes it at close); launchPersistentContext would allow only one cookie
 * jar, and the tests want a session per page.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), as .ci/run does`);
  }
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  return {
    async newPage(viewport = { width: 1280, height: 900 }) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.on('close', () => void context.close());
      // A script error in the page fails the test that caused it.
      page.on('pageerror', (error) => {
        pageErrors.push(error);
      });
      return page;
    },
    async close() {
      await browser.close();
    },
  };
}

/** Uncaught errors of pages since the last call (the UI must not throw). */
export function takePageErrors(): Error[] {
  return pageErrors.splice(0);
}

const pageErrors: Error[] = [];

/**
 * A TCP proxy in front of the server, so that a test can cut every connection the browser
 * has open (a network drop) and see the browser reconnect through it.
 */
export interface DroppingProxy {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection, both ways. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startProxy(target: URL): Promise<DroppingProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    get accepted() {
      return accepted;
    },
    dropAll() {
      for (const socket of open) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
