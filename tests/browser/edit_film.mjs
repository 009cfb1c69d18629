// Logs in to the admin panel in headless Chromium, changes a film work's
// title and saves it, as a person would.  Run by
// tests/integration/admin/test_admin_browser.py; prints one JSON line.
//
// Environment: ADMIN_URL (http://127.0.0.1:8080), ADMIN_USERNAME,
// ADMIN_PASSWORD, FILM_ID, NEW_TITLE, SCREENSHOT (PNG path of the saved
// page; the search that finds the film again goes beside it as *-search.png), CHROMIUM
// (default /usr/bin/chromium), BROWSER_LOCALE (default ru-RU: the browser's
// Accept-Language).
import { chromium } from 'playwright-core';

// Reads a required environment variable.
function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

// Runs the whole scenario and returns what the test checks.
async function main() {
  const base = need('ADMIN_URL');
  const screenshot = need('SCREENSHOT');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = await browser.newPage({
    viewport: { width: 1280, height: 900 },
    locale: process.env.BROWSER_LOCALE || 'ru-RU',
  });
  page.setDefaultTimeout(30000);
  try {
    await page.goto(`${base}/admin/login/?next=/admin/`);
    const loginTitle = await page.title();
    await page.fill('#id_username', need('ADMIN_USERNAME'));
    await page.fill('#id_password', need('ADMIN_PASSWORD'));
    await Promise.all([page.waitForURL(`${base}/admin/`), page.click('#login-form [type=submit]')]);

    await page.goto(`${base}/admin/movies/filmwork/${need('FILM_ID')}/change/`);
    const oldTitle = await page.inputValue('#id_title');
    await page.fill('#id_title', need('NEW_TITLE'));
    await Promise.all([
      page.waitForURL(`${base}/admin/movies/filmwork/`),
      page.click('input[name=_save]'),
    ]);
    const savedUrl = page.url();
    const message = (await page.textContent('ul.messagelist li.success')).trim();
    await page.screenshot({ path: screenshot, fullPage: true });
    // Find it again with the change list's search box.
    await page.fill('#searchbar', need('NEW_TITLE'));
    await Promise.all([page.waitForURL(/[?&]q=/), page.press('#searchbar', 'Enter')]);
    const listed = await page.locator('#result_list').textContent();
    await page.screenshot({ path: screenshot.replace(/\.png$/, '') + '-search.png', fullPage: true });
    return {
      ok: true,
      loginTitle,
      oldTitle,
      message,
      listed: listed.includes(need('NEW_TITLE')),
      lang: await page.getAttribute('html', 'lang'),
      savedUrl,
    };
  } catch (err) {
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await browser.close();
  }
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (err) => {
    console.log(JSON.stringify({ ok: false, error: String(err && err.stack || err) }));
    process.exitCode = 1;
  },
);
