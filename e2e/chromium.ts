import type { LaunchOptions } from '@playwright/test';

/**
 * How the end-to-end tests and the portal benchmarks start Debian's Chromium (Playwright cannot
 * download its own here). Without the background-networking flags Chromium keeps calling out to
 * a network that is closed here.
 */
export const CHROMIUM_LAUNCH_OPTIONS: LaunchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
};
