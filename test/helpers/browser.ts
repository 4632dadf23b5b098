// Debian's Chromium driven by playwright-core, for the UI tests. `.ci/run` installs the
// `chromium` package; a test run without it fails with a message saying so (never a skip).
import { existsSync } from 'node:fs';
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
