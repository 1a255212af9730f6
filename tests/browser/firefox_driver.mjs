// Drives Debian's firefox-esr for the Python browser tests (tests/browser/firefox.py).
//
// One Firefox per process, launched by puppeteer-core over WebDriver BiDi. Commands arrive as
// JSON lines on stdin, {"id", "method", "params"}, and are carried out one after the other;
// each is answered by one JSON line on stdout, {"id", "result"} or {"id", "error": {"name",
// "message"}}. The first line written is {"ready": true, "version", "pid"}. When stdin closes
// (the tests ended, or the Python process died) Firefox is closed and the process exits.
import readline from "node:readline";
import puppeteer from "puppeteer-core";

const FIREFOX = process.env.VIDEOTERMIN_FIREFOX || "/usr/bin/firefox-esr";
const DEFAULT_TIMEOUT_MS = 15000;
const POLL_MS = 100;

// A person's Firefox with a fake camera and microphone that it may use without asking.
// Host candidates stay masked as .local names, as in every real user's Firefox.
const PREFS = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.peerconnection.ice.loopback": true,
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  "browser.shell.checkDefaultBrowser": false,
  "datareporting.policy.dataSubmissionEnabled": false,
};

/** @param {object} message */
function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: FIREFOX,
  headless: process.env.VIDEOTERMIN_FIREFOX_HEADLESS !== "0",
  extraPrefsFirefox: PREFS,
  protocolTimeout: 60000,
});

/** @type {Map<number, import("puppeteer-core").BrowserContext>} */
const contexts = new Map();
/** @type {Map<number, {page: import("puppeteer-core").Page, errors: string[], warnings: string[]}>} */
const pages = new Map();
let nextId = 1;

function pageOf(/** @type {{page: number}} */ params) {
  const entry = pages.get(params.page);
  if (!entry) throw new Error(`no page ${params.page} (closed?)`);
  return entry.page;
}

/** A JS function's source (called with args) or an expression, as one expression. */
function callExpression(/** @type {string} */ source, /** @type {unknown[]} */ args = []) {
  return `(async () => { const value = (${source});
    return typeof value === "function" ? await value(...${JSON.stringify(args)}) : value; })()`;
}

/** Puppeteer's selector for the innermost element with this text. */
function textSelector(/** @type {string} */ text) {
  return `::-p-text(${JSON.stringify(text)})`;
}

/**
 * The promise's value, or an error once the time is up (a page's promise may never settle).
 * @template T
 * @param {Promise<T>} promise
 */
function within(promise, /** @type {number} */ timeout, /** @type {string} */ what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms: ${what}`)), timeout);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Evaluate until the value is truthy; return it. Navigations in between are no error.
 * @param {import("puppeteer-core").Page} page
 */
async function poll(page, /** @type {string} */ expression, /** @type {number} */ timeout, /** @type {string} */ what) {
  const deadline = Date.now() + timeout;
  let last = "";
  for (;;) {
    try {
      const left = Math.max(deadline - Date.now(), POLL_MS);
      const value = await within(page.evaluate(expression), left, what);
      if (value) return value;
      last = `last value: ${JSON.stringify(value)}`;
    } catch (error) {
      last = `last error: ${error instanceof Error ? error.message : error}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (${last})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** @type {Record<string, (params: any) => Promise<unknown>>} */
const commands = {
  async newContext() {
    const id = nextId++;
    contexts.set(id, await browser.createBrowserContext());
    return id;
  },

  async closeContext({ context }) {
    const found = contexts.get(context);
    contexts.delete(context);
    for (const [id, entry] of pages) if (entry.page.browserContext() === found) pages.delete(id);
    if (found) await found.close();
    return null;
  },

  async newPage({ context }) {
    const found = contexts.get(context);
    if (!found) throw new Error(`no context ${context} (closed?)`);
    const page = await found.newPage();
    page.setDefaultTimeout(DEFAULT_TIMEOUT_MS);
    const id = nextId++;
    /** @type {string[]} */
    const errors = [];
    page.on("pageerror", (error) => errors.push(error instanceof Error ? error.message : String(error)));
    // What the page's own scripts log as warnings and errors (a refused setParameters ...).
    /** @type {string[]} */
    const warnings = [];
    page.on("console", (message) => {
      if (message.type() === "warn" || message.type() === "error") {
        warnings.push(`${message.type()}: ${message.text()}`);
      }
    });
    pages.set(id, { page, errors, warnings });
    return id;
  },

  async goto({ page, url, timeout }) {
    const response = await pageOf({ page }).goto(url, { waitUntil: "load", timeout });
    return { status: response ? response.status() : null, url: pageOf({ page }).url() };
  },

  async click({ page, selector, text, timeout }) {
    await pageOf({ page }).locator(selector ?? textSelector(text)).setTimeout(timeout).click();
    return null;
  },

  async fill({ page, selector, value, timeout }) {
    await pageOf({ page }).locator(selector).setTimeout(timeout).fill(value);
    return null;
  },

  async waitForSelector({ page, selector, state, timeout }) {
    const options = { timeout, visible: state === "visible", hidden: state === "hidden" };
    await pageOf({ page }).waitForSelector(selector, options);
    return null;
  },

  async waitForText({ page, text, selector, timeout }) {
    const expression = `(() => [...document.querySelectorAll(${JSON.stringify(selector)})]
      .some((element) => element.innerText.includes(${JSON.stringify(text)})))()`;
    await poll(pageOf({ page }), expression, timeout, `${JSON.stringify(text)} in ${selector}`);
    return null;
  },

  async waitForFunction({ page, source, args, timeout }) {
    return poll(pageOf({ page }), callExpression(source, args), timeout, source);
  },

  async evaluate({ page, source, args }) {
    const value = await pageOf({ page }).evaluate(callExpression(source, args));
    return value === undefined ? null : value;
  },

  async url({ page }) {
    return pageOf({ page }).url();
  },

  async screenshot({ page, path }) {
    await pageOf({ page }).screenshot({ path, fullPage: true });
    return path;
  },

  async errors({ page }) {
    const entry = pages.get(page);
    return entry ? entry.errors : [];
  },

  async warnings({ page }) {
    const entry = pages.get(page);
    return entry ? entry.warnings : [];
  },

  async closePage({ page }) {
    const entry = pages.get(page);
    pages.delete(page);
    if (entry) await entry.page.close();
    return null;
  },
};

let closing = false;
async function shutDown(/** @type {number} */ code) {
  if (closing) return;
  closing = true;
  try {
    await browser.close();
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => shutDown(0));

send({ ready: true, version: await browser.version(), pid: browser.process()?.pid ?? null });

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  /** @type {{id: number, method: string, params?: any}} */
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    send({ id: null, error: { name: "SyntaxError", message: `not JSON: ${line.slice(0, 200)}` } });
    continue;
  }
  const { id, method, params = {} } = request;
  if (method === "close") {
    send({ id, result: null });
    break;
  }
  const command = commands[method];
  try {
    if (!command) throw new Error(`unknown command ${method}`);
    const timeout = params.timeout ?? DEFAULT_TIMEOUT_MS;
    // Puppeteer's own timeouts cover waiting for elements; this covers everything else.
    const result = await within(command({ ...params, timeout }), timeout + 1000, method);
    send({ id, result });
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    send({ id, error: { name: failure.name, message: failure.message } });
  }
}
await shutDown(0);
