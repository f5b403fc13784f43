// console_page.js URL OUT_DIR MODE JOB [SITE DETAIL_JOB] - drives the console of a watching run
// in headless Chromium (Debian's chromium, through npm puppeteer-core from tests/fakes) the way
// an operator would, saves a screenshot of each view in OUT_DIR, and prints one JSON line of what
// it saw for console_browser.py to check, console errors and failed requests always. MODE
// "cancel": the jobs view, JOB's detail, Cancel. MODE "main": the status view, the jobs listed,
// DETAIL_JOB's error lines and timings, Retry of JOB. MODE "rest": SITE's charts and the marks
// they drew, the batches, the settings. Run by console_browser.py; not a test on its own.
'use strict';
const path = require('path');
const puppeteer = require(path.join(__dirname, '..', 'fakes', 'node_modules', 'puppeteer-core'));

const [url, outDir, mode, job, site, detailJob] = process.argv.slice(2);
const seen = { console_errors: [], failed_requests: [] };

// The jobs view, and one job's detail open.
async function openJob(page, id) {
  await page.click('nav button[data-tab=jobs]');
  await page.waitForSelector(`#job-list tbody tr[data-job="${id}"]`);
  await page.click(`#job-list tbody tr[data-job="${id}"]`);
  await page.waitForFunction(j => document.getElementById('job-title').textContent.startsWith(j) &&
                                  document.getElementById('job-errors').textContent !== '', {}, id);
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', m => { if (m.type() === 'error') seen.console_errors.push(m.text()); });
    page.on('pageerror', e => seen.console_errors.push('page error: ' + e.message));
    page.on('requestfailed', r => seen.failed_requests.push(r.url()));
    page.on('response', r => { if (r.status() >= 400) seen.failed_requests.push(r.status() + ' ' + r.url()); });

    await page.goto(url, { waitUntil: 'networkidle0' });
    if (mode === 'cancel') {
      await openJob(page, job);
      // A waiting file is in flight again while its merge is retried: the API refuses a cancel
      // then (409), and the operator clicks again once it is back in the queue.
      seen.cancel_refusals = 0;
      for (let i = 0; i < 120; i++) {
        await page.click('#job-cancel');
        await page.waitForFunction(() => document.getElementById('job-said').textContent !== '');
        seen.cancel_said = await page.$eval('#job-said', e => e.textContent);
        if (!seen.cancel_said.includes('in flight')) break;
        seen.cancel_refusals++;
        await new Promise(r => setTimeout(r, 250));
      }
      seen.console_errors = seen.console_errors.filter(e => !e.includes('409')); // those refusals
      seen.failed_requests = seen.failed_requests.filter(e => !e.startsWith('409 '));
      await page.screenshot({ path: path.join(outDir, 'console-cancel.png'), fullPage: true });
      return;
    }
    if (mode === 'main') {
    await page.waitForSelector('#cards .card');
    await page.waitForSelector('#chart-throughput svg');
    seen.status_cards = await page.$$eval('#cards .card', cs => cs.map(c => c.textContent));
    seen.throughput_points = await page.$$eval('#chart-throughput circle.point', cs => cs.length);
    await page.screenshot({ path: path.join(outDir, 'console-status.png'), fullPage: true });

    await openJob(page, detailJob);
    seen.jobs_shown = await page.$$eval('#job-list tbody tr', rs => rs.map(r => r.dataset.job));
    seen.error_lines = await page.$eval('#job-errors', e => e.textContent.split('\n'));
    seen.timing_bars = await page.$$eval('#job-timings rect.bar', rs => rs.length);
    await page.screenshot({ path: path.join(outDir, 'console-job.png'), fullPage: true });
    await page.click(`#job-list tbody tr[data-job="${job}"]`);
    await page.waitForFunction(j => document.getElementById('job-title').textContent.startsWith(j), {}, job);
    await page.click('#job-retry');
    await page.waitForFunction(() => document.getElementById('job-said').textContent !== '');
    seen.retry_said = await page.$eval('#job-said', e => e.textContent);
      return;
    }
    // MODE "rest": the sites, the batches, the settings.
    {
    await page.click('nav button[data-tab=sites]');
    await page.waitForSelector('#site-list tbody tr');
    seen.sites_shown = await page.$$eval('#site-list tbody tr td:first-child', ds => ds.map(d => d.textContent));
    await page.select('#site-pick', site);
    await page.waitForFunction(s => document.getElementById('site-pick').value === s, {}, site);
    await page.waitForSelector('#chart-lines svg');
    await new Promise(r => setTimeout(r, 500)); // the change handler's fetch
    seen.lines_points = await page.$$eval('#chart-lines circle.point', cs => cs.map(c => c.dataset.x));
    seen.files_bars = await page.$$eval('#chart-files rect.bar', rs => rs.map(r => r.dataset.x));
    seen.reject_points = await page.$$eval('#chart-rejects circle.point', cs => cs.length);
    seen.reject_limit = await page.$$eval('#chart-rejects line.limit', ls => ls.length);
    await page.screenshot({ path: path.join(outDir, 'console-sites.png'), fullPage: true });

    await page.click('nav button[data-tab=batches]');
    await page.waitForSelector('#batch-list tbody tr');
    seen.batches_shown = await page.$$eval('#batch-list tbody tr', rs => rs.map(r =>
      [r.dataset.step, ...[2, 5].map(i => r.children[i].textContent)]));
    await page.screenshot({ path: path.join(outDir, 'console-batches.png'), fullPage: true });

    await page.click('nav button[data-tab=settings]');
    await page.waitForSelector('#setting-list tbody tr');
    seen.settings_rows = await page.$$eval('#setting-list tbody tr', rs => rs.length);
    seen.problem_shown = await page.$eval('#problem', p => (p.hidden ? '' : p.textContent));
    }
  } finally {
    await browser.close();
  }
}

main().then(() => console.log(JSON.stringify(seen))).catch(e => { console.error('console_page.js: ' + (e.stack || e)); process.exit(1); });
