// The device check page (J6, J7, J8): runs the check on load, shows it, reports it, counts down.
import { browserInfo, getMedia, micLevel, networkVerdict, playTestTone, verdict } from "./devices.js";
import { TestCall, TestCallRefused, decimal, measureNetwork } from "./network.js";

/** @typedef {import("./devices.js").CheckResults} CheckResults */

const SPEECH_LEVEL = 0.08;
const LISTEN_MS = 6000;
// Media flows this long before the test call's loss is taken; the call ends by itself after.
const TEST_MEASURE_MS = 4000;
const TEST_CALL_MS = 30000;

const root = document.getElementById("check");

/** Translated strings rendered by the server into a hidden list. */
const strings = Object.fromEntries(
  Array.from(document.querySelectorAll("#check-strings [data-key]"), (item) => [
    /** @type {HTMLElement} */ (item).dataset.key, (item.textContent || "").trim(),
  ]),
);

/**
 * @param {string} key
 * @param {Record<string, string|number>} [values]
 */
function t(key, values = {}) {
  return (strings[key] ?? key).replace(/\{(\w+)\}/g, (whole, name) => String(values[name] ?? whole));
}

/** @param {string} id */
function byId(id) {
  return /** @type {HTMLElement} */ (document.getElementById(id));
}

/** @param {string} id @param {string} text */
function say(id, text) {
  const element = byId(id);
  if (element) element.textContent = text;
}

/** @type {CheckResults|null} */
let results = null;
/** @type {MediaStream|null} */
let stream = null;
let stopLevel = () => {};
let listenTimer = 0;
let lastReport = "";
/** Reports go one after the other: two at once could reach the database in reverse order. */
let reporting = Promise.resolve();
/** @type {import("./network.js").NetworkResult|null} */
let network = null;
let networkRun = 0;
/** @type {TestCall|null} */
let testCall = null;
/** Settles once the check has asked for camera and microphone (a test call waits for it). */
let mediaAsked = Promise.resolve();
let mediaAnswered = () => {};
let testCallTimer = 0;
/** What the last test call found: loss on the way through the server and back. */
const testCallResult = { ok: false, failed: /** @type {boolean|null} */ (null), lossPct: /** @type {number|null} */ (null) };

function stopMedia() {
  stopTestCall();
  stopLevel();
  stopLevel = () => {};
  clearTimeout(listenTimer);
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
}

/** @param {import("./devices.js").MediaErrorKind|null} kind */
function deviceProblem(kind) {
  return kind ? t(kind) : "";
}

async function run() {
  stopMedia();
  byId("result").hidden = true;
  byId("device-help").hidden = true;
  say("check-status", t("status-browser"));
  checkNetwork();
  const browser = browserInfo();
  const names = { browser: `${browser.name} ${browser.version || ""}`.trim(), os: browser.os };
  say("browser-state", t(!browser.supported ? "browser-bad" : browser.current ? "browser-ok" : "browser-old", names));

  say("check-status", t("status-media"));
  mediaAsked = new Promise((resolve) => { mediaAnswered = () => resolve(undefined); });
  let { stream: media, error } = await getMedia({ video: true, audio: true });
  /** @type {import("./devices.js").MediaErrorKind|null} */
  let cameraError = null;
  /** @type {import("./devices.js").MediaErrorKind|null} */
  let microphoneError = null;
  if (!media && error) {
    if (error.kind === "missing" || error.kind === "in-use") {
      // One of the two may work alone: ask for each to tell which one fails.
      const audio = await getMedia({ audio: true });
      const video = await getMedia({ video: true });
      microphoneError = audio.error ? audio.error.kind : null;
      cameraError = video.error ? video.error.kind : null;
      const tracks = [...(audio.stream?.getTracks() ?? []), ...(video.stream?.getTracks() ?? [])];
      media = tracks.length ? new MediaStream(tracks) : null;
    } else {
      // Denied, insecure or unsupported: asking again would only repeat the browser's question.
      cameraError = microphoneError = error.kind;
    }
  }
  stream = media;
  mediaAnswered();
  const hasVideo = !!stream && stream.getVideoTracks().length > 0;
  const hasAudio = !!stream && stream.getAudioTracks().length > 0;
  const preview = /** @type {HTMLVideoElement} */ (byId("preview"));
  preview.srcObject = hasVideo ? stream : null;
  say("camera-state", hasVideo ? t("ok-camera") : deviceProblem(cameraError || "missing"));
  say("microphone-state", hasAudio ? t("mic-silent") : deviceProblem(microphoneError || "missing"));

  results = {
    browser, camera: hasVideo, microphone: hasAudio, micSignal: hasAudio ? null : false,
    speaker: results ? results.speaker : null, cameraError, microphoneError,
  };
  if (!hasAudio || !stream) {
    finish();
    return;
  }
  say("check-status", t("status-mic"));
  const meter = /** @type {HTMLMeterElement} */ (byId("mic-meter"));
  stopLevel = micLevel(stream, (level) => {
    const percent = Math.round(level * 100);
    meter.value = percent;
    meter.textContent = `${percent} %`;
    if (level >= SPEECH_LEVEL && results && results.micSignal !== true) {
      results.micSignal = true;
      say("microphone-state", t("ok-microphone"));
      clearTimeout(listenTimer);
      finish();
    }
  });
  listenTimer = window.setTimeout(() => {
    if (results && results.micSignal === null) {
      results.micSignal = false;
      finish();
    }
  }, LISTEN_MS);
}

/** Which help to show when access is blocked: the steps for this browser, and the system's. */
function helpFor(/** @type {string} */ name, /** @type {string} */ os) {
  if (os === "iOS" || name === "Safari") return "safari";
  if (name === "Firefox") return "firefox";
  if (name === "Edge") return "edge";
  return "chrome";
}

function finish() {
  if (!results) return;
  results.network = network && {
    ...network,
    lossPct: testCallResult.lossPct ?? network.lossPct,
    testCall: testCallResult.ok,
  };
  results.testCallFailed = testCallResult.failed;
  const { result, remedies } = verdict(results);
  byId("result").hidden = false;
  byId("result-light").className = `light ${result}`;
  say("result-text", t(result));
  document.querySelectorAll("#remedies [data-remedy]").forEach((item) => {
    const element = /** @type {HTMLElement} */ (item);
    element.hidden = !remedies.includes(element.dataset.remedy || "");
  });
  const blocked = remedies.some((code) => code.endsWith("-denied"));
  const help = byId("device-help");
  help.hidden = !blocked;
  if (blocked) {
    const browser = helpFor(results.browser.name, results.browser.os);
    help.querySelectorAll("[data-browser]").forEach((block) => {
      const element = /** @type {HTMLElement} */ (block);
      element.hidden = element.dataset.browser !== browser && element.dataset.browser !== "system";
    });
  }
  say("check-status", t(network ? "status-done" : "status-network"));
  report(result);
}

/** Tell the server (and so the counselor) the result; only when it changed. */
function report(/** @type {string} */ result) {
  if (!results || !root) return;
  const { browser } = results;
  const body = JSON.stringify({
    result,
    details: {
      camera: results.camera,
      microphone: results.microphone,
      micSignal: results.micSignal,
      speaker: results.speaker,
      browser: `${browser.name} ${browser.version || ""}`.trim().slice(0, 100),
      os: browser.os.slice(0, 100),
      supported: browser.supported,
      current: browser.current,
      cameraError: results.cameraError,
      microphoneError: results.microphoneError,
      rtt_ms: results.network ? results.network.rttMs : null,
      down_kbps: results.network ? results.network.downKbps : null,
      up_kbps: results.network ? results.network.upKbps : null,
      loss_pct: results.network ? results.network.lossPct : null,
      test_call: testCallResult.ok,
    },
  });
  if (body === lastReport) return;
  lastReport = body;
  reporting = reporting.then(() => send(body));
}

/** @param {string} body the report; skipped when a newer one waits behind it */
async function send(body) {
  // A staff member's own check is shown, not stored: the page has no address to report to.
  if (body !== lastReport || !root || !root.dataset.resultUrl) return;
  const token = /** @type {HTMLInputElement|null} */ (root.querySelector("input[name=csrfmiddlewaretoken]"));
  try {
    const response = await fetch(root.dataset.resultUrl || "", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body,
    });
    if (!response.ok) throw new Error(String(response.status));
  } catch {
    if (body === lastReport) lastReport = "";
    say("check-status", t("status-save-failed"));
  }
}

/** The check's addresses on the server, and the CSRF token for its posts. */
function urls() {
  const data = root ? root.dataset : {};
  const token = root && /** @type {HTMLInputElement|null} */ (root.querySelector("input[name=csrfmiddlewaretoken]"));
  return {
    ping: data.pingUrl || "", download: data.downloadUrl || "", upload: data.uploadUrl || "",
    echo: data.echoUrl || "", echoStop: data.echoStopUrl || "", csrf: token ? token.value : "",
  };
}

/** Measure the connection to the server; show the numbers; a newer run wins. */
async function checkNetwork() {
  const run = ++networkRun;
  network = null;
  for (const id of ["net-rtt", "net-down", "net-up", "net-loss"]) say(id, "–");
  say("network-state", t("status-network"));
  const measured = await measureNetwork(urls());
  if (run !== networkRun) return;
  network = measured;
  showNetwork();
  // The device part decides when the light is first shown; after that every change updates it.
  if (results && results.micSignal !== null) finish();
}

function showNetwork() {
  if (!network) return;
  const none = t("net-none");
  const mbit = (/** @type {number|null} */ kbps) => (kbps === null ? none : t("net-mbit", { n: decimal(kbps / 1000) }));
  const lossPct = testCallResult.lossPct ?? network.lossPct;
  say("net-rtt", network.rttMs === null ? none : t("net-ms", { n: decimal(network.rttMs, 0) }));
  say("net-down", mbit(network.downKbps));
  say("net-up", mbit(network.upKbps));
  say("net-loss", lossPct === null ? none : t("net-percent", { n: decimal(lossPct) }));
  say("network-state", t(`network-${networkVerdict({ ...network, lossPct }).level}`));
}

/** @param {string} [message] why it ended; the "ended" words by default */
function stopTestCall(message) {
  clearTimeout(testCallTimer);
  if (!testCall) return;
  testCall.stop();
  testCall = null;
  const echo = /** @type {HTMLVideoElement} */ (byId("echo"));
  echo.srcObject = null;
  echo.hidden = true;
  say("test-call", t("test-start"));
  say("test-call-state", message || t("test-ended"));
}

async function startTestCall() {
  say("test-call-state", t("test-connecting"));
  await mediaAsked;
  if (testCall) return;
  if (!stream || stream.getTracks().every((track) => track.readyState === "ended")) {
    say("test-call-state", t("test-no-media"));
    return;
  }
  const call = new TestCall(urls());
  testCall = call;
  const echo = /** @type {HTMLVideoElement} */ (byId("echo"));
  say("test-call", t("test-stop"));
  say("test-call-state", t("test-connecting"));
  call.onRemoteStream = (remote) => {
    if (echo.srcObject === remote) return;
    echo.srcObject = remote;
    echo.hidden = false;
    echo.play().catch(() => {});
  };
  const failed = () => {
    if (testCall !== call) return;
    testCallResult.failed = true;
    stopTestCall(t("test-failed"));
    finish();
  };
  call.onConnectionState = (state) => {
    if (state === "failed") failed();
  };
  try {
    await call.start(stream);
  } catch (error) {
    if (testCall !== call) return;
    // A full server is no fault of the citizen's network: say so and let her try again.
    if (error instanceof TestCallRefused && error.status === 503) stopTestCall(error.message);
    else failed();
    return;
  }
  testCallTimer = window.setTimeout(() => stopTestCall(), TEST_CALL_MS);
  const started = performance.now();
  let flowing = 0;
  while (testCall === call) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (testCall !== call) return;
    const stats = await call.stats();
    if (!flowing && (stats.framesDecoded > 0 || stats.packetsReceived > 0)) {
      flowing = performance.now();
      say("test-call-state", t("test-running"));
    }
    if (flowing && performance.now() - flowing >= TEST_MEASURE_MS) {
      Object.assign(testCallResult, { ok: true, failed: false, lossPct: stats.lossPct });
      showNetwork();
      finish();
      return;
    }
    if (!flowing && performance.now() - started > 15000) {
      failed();
      return;
    }
  }
}

async function testTone() {
  say("speaker-state", t("tone-playing"));
  try {
    await playTestTone();
  } catch {
    // Without Web Audio the citizen can still tell us they heard nothing.
  }
  say("speaker-state", "");
  byId("speaker-question").hidden = false;
  byId("heard-yes").focus();
}

/** @param {boolean} heard */
function answerTone(heard) {
  byId("speaker-question").hidden = true;
  say("speaker-state", t(heard ? "speaker-ok" : "speaker-bad"));
  if (results) {
    results.speaker = heard;
    finish();
  }
}

/** @param {number} seconds */
function clock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** Count down to the opening of the room, measured from the server's figure, not the local clock. */
function countdown() {
  const waiting = document.getElementById("enter-wait");
  if (!waiting || !root) return;
  const target = performance.now() + Number(root.dataset.secondsUntilEntry || 0) * 1000;
  let announced = -1;
  const tick = () => {
    const remaining = Math.max(0, Math.ceil((target - performance.now()) / 1000));
    if (remaining === 0) {
      clearInterval(timer);
      waiting.hidden = true;
      byId("enter-link").hidden = false;
      say("countdown", "");
      say("countdown-status", t("room-open"));
      return;
    }
    say("countdown", t("countdown", { time: clock(remaining) }));
    // Screen readers hear the minutes now and then, not every second.
    const minutes = Math.ceil(remaining / 60);
    if (minutes !== announced && (minutes <= 5 || minutes % 10 === 0)) {
      if (announced !== -1) say("countdown-status", t("countdown-minutes", { minutes }));
      announced = minutes;
    }
  };
  const timer = window.setInterval(tick, 1000);
  tick();
}

if (root) {
  byId("tone").addEventListener("click", testTone);
  byId("heard-yes").addEventListener("click", () => answerTone(true));
  byId("heard-no").addEventListener("click", () => answerTone(false));
  byId("retry").addEventListener("click", run);
  byId("test-call").addEventListener("click", () => (testCall ? stopTestCall() : startTestCall()));
  // The room asks for the devices itself; the check releases them when the page goes.
  window.addEventListener("pagehide", stopMedia);
  countdown();
  run();
}
