// Camera, microphone, loudspeaker and browser checks, without touching the page.
// Reused by the device check and the waiting room; the page scripts show the results.

/**
 * @typedef {"denied"|"missing"|"in-use"|"insecure"|"unsupported"} MediaErrorKind
 * @typedef {{kind: MediaErrorKind, name: string}} MediaFailure
 * @typedef {{stream: MediaStream|null, error: MediaFailure|null}} MediaResult
 * @typedef {{name: string, version: number, os: string, supported: boolean, current: boolean}} BrowserInfo
 */

// The oldest versions tested with the room's WebRTC code; older ones are told to update.
const MINIMUM_VERSIONS = { Chrome: 100, Edge: 100, Firefox: 100, Safari: 15, Opera: 86, "Samsung Internet": 18 };

/**
 * Classify a getUserMedia error into what the citizen has to do about it.
 * @param {any} error
 * @returns {MediaErrorKind}
 */
export function classifyMediaError(error) {
  const name = (error && error.name) || "";
  if (name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError") {
    return "denied";
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return "missing";
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return "in-use";
  }
  return "unsupported";
}

/**
 * Ask for camera and/or microphone; never throws.
 * @param {MediaStreamConstraints} constraints
 * @returns {Promise<MediaResult>}
 */
export async function getMedia(constraints) {
  if (typeof window !== "undefined" && window.isSecureContext === false) {
    return { stream: null, error: { kind: "insecure", name: "InsecureContext" } };
  }
  const devices = typeof navigator !== "undefined" ? navigator.mediaDevices : undefined;
  if (!devices || typeof devices.getUserMedia !== "function") {
    return { stream: null, error: { kind: "unsupported", name: "NoMediaDevices" } };
  }
  try {
    return { stream: await devices.getUserMedia(constraints), error: null };
  } catch (error) {
    return { stream: null, error: { kind: classifyMediaError(error), name: String(error && error.name) } };
  }
}

/**
 * Name, major version and operating system from the user agent; "supported" means WebRTC works.
 * @param {string} [userAgent]
 * @returns {BrowserInfo}
 */
export function browserInfo(userAgent) {
  const ua = userAgent ?? (typeof navigator !== "undefined" ? navigator.userAgent : "");
  const touchMac = typeof navigator !== "undefined" && navigator.maxTouchPoints > 1;
  let os = "";
  if (/Windows/.test(ua)) os = "Windows";
  else if (/iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && touchMac && userAgent === undefined)) os = "iOS";
  else if (/Android/.test(ua)) os = "Android";
  else if (/Mac OS X|Macintosh/.test(ua)) os = "macOS";
  else if (/CrOS/.test(ua)) os = "ChromeOS";
  else if (/Linux/.test(ua)) os = "Linux";

  /** @type {[string, RegExp][]} order matters: Edge and Opera also say "Chrome" */
  const patterns = [
    ["Edge", /Edg(?:e|A|iOS)?\/(\d+)/],
    ["Opera", /OPR\/(\d+)/],
    ["Samsung Internet", /SamsungBrowser\/(\d+)/],
    ["Firefox", /(?:Firefox|FxiOS)\/(\d+)/],
    ["Chrome", /(?:Chrome|CriOS)\/(\d+)/],
    ["Safari", /Version\/(\d+)[\d.]*.*Safari/],
  ];
  let name = "";
  let version = 0;
  for (const [candidate, pattern] of patterns) {
    const match = pattern.exec(ua);
    if (match) {
      name = candidate;
      version = Number(match[1]);
      break;
    }
  }
  if (os === "iOS") {
    // Every browser on iOS is Safari's engine underneath; its version is the system's.
    const system = /OS (\d+)_/.exec(ua);
    const safari = /Version\/(\d+)/.exec(ua);
    const engine = Number((system && system[1]) || (safari && safari[1]) || 0);
    const current = engine >= MINIMUM_VERSIONS.Safari;
    return { name: name || "Safari", version, os, supported: engine >= 14 && hasWebRTC(), current };
  }
  const minimum = MINIMUM_VERSIONS[/** @type {keyof MINIMUM_VERSIONS} */ (name)];
  const current = minimum !== undefined && version >= minimum;
  return { name: name || "?", version, os: os || "?", supported: hasWebRTC(), current };
}

function hasWebRTC() {
  return typeof RTCPeerConnection === "function"
    && typeof navigator !== "undefined" && !!navigator.mediaDevices;
}

/** @returns {typeof AudioContext|undefined} */
function audioContextClass() {
  return typeof window === "undefined" ? undefined
    : (window.AudioContext || /** @type {any} */ (window).webkitAudioContext);
}

/**
 * Report the microphone level (0..1) about ten times a second; returns a function that stops.
 * @param {MediaStream} stream
 * @param {(level: number) => void} onLevel
 * @returns {() => void}
 */
export function micLevel(stream, onLevel) {
  const Context = audioContextClass();
  if (!Context || stream.getAudioTracks().length === 0) return () => {};
  const context = new Context();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  // Chrome starts a context suspended until the page was touched; a capture stream may resume it.
  context.resume().catch(() => {});
  // An interval rather than animation frames: it keeps measuring in a background tab.
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    const rms = Math.sqrt(sum / samples.length);
    // Speech sits around 0.02-0.2 RMS; scale so that normal speaking fills about half the bar.
    onLevel(Math.min(1, rms * 5));
  }, 100);
  return () => {
    clearInterval(timer);
    source.disconnect();
    context.close().catch(() => {});
  };
}

/**
 * Play a short, soft two-note chime; resolves when it has finished.
 * @returns {Promise<void>}
 */
export function playTestTone() {
  const Context = audioContextClass();
  if (!Context) return Promise.reject(new Error("unsupported"));
  const context = new Context();
  const start = context.currentTime + 0.05;
  const notes = [[660, 0], [880, 0.45]];
  for (const [frequency, offset] of notes) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = "sine";
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.05);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.8);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(start + offset);
    oscillator.stop(start + offset + 0.85);
  }
  return new Promise((resolve) => {
    setTimeout(() => {
      context.close().catch(() => {});
      resolve();
    }, 1500);
  });
}

/**
 * @typedef {object} CheckResults
 * @property {BrowserInfo} browser
 * @property {boolean} camera           a camera picture arrived
 * @property {boolean} microphone       a microphone track arrived
 * @property {boolean|null} micSignal   sound was heard (null: not yet known)
 * @property {boolean|null} speaker     the citizen heard the test tone (null: not asked)
 * @property {MediaErrorKind|null} cameraError
 * @property {MediaErrorKind|null} microphoneError
 * @property {import("./network.js").NetworkResult|null} [network]  null: not measured yet
 * @property {boolean|null} [testCallFailed]  the test call through the server did not connect
 */

// Green: video in good quality. Yellow: works with data saver (N8). Red below.
export const NETWORK_GREEN = { rttMs: 300, downKbps: 1000, upKbps: 500, lossPct: 3 };
export const NETWORK_YELLOW = { rttMs: 1000, downKbps: 300, upKbps: 150, lossPct: 10 };

/**
 * The network's traffic light and the remedies that go with it.
 * @param {import("./network.js").NetworkResult} network
 * @returns {{level: "green"|"yellow"|"red", remedies: string[]}}
 */
export function networkVerdict(network) {
  const { rttMs, downKbps, upKbps, lossPct } = network;
  if (rttMs === null || downKbps === null || upKbps === null) {
    return { level: "yellow", remedies: ["network-failed"] };
  }
  const loss = lossPct ?? 0;
  const within = (/** @type {typeof NETWORK_GREEN} */ limit) => rttMs < limit.rttMs
    && downKbps >= limit.downKbps && upKbps >= limit.upKbps && loss < limit.lossPct;
  if (within(NETWORK_GREEN)) return { level: "green", remedies: [] };
  if (!within(NETWORK_YELLOW)) return { level: "red", remedies: ["network-too-slow"] };
  const slow = downKbps < NETWORK_GREEN.downKbps || upKbps < NETWORK_GREEN.upKbps;
  return { level: "yellow", remedies: [slow ? "network-slow" : "network-unstable"] };
}

/**
 * One traffic light and what to do about it.
 * Red: no way to talk (no microphone, no WebRTC, insecure page, a network far too slow).
 * Yellow: works with limits (an old browser, no camera, a slow network: data saver).
 * @param {CheckResults} results
 * @returns {{result: "green"|"yellow"|"red", remedies: string[]}}
 */
export function verdict(results) {
  /** @type {string[]} */
  const red = [];
  /** @type {string[]} */
  const yellow = [];
  const { browser } = results;
  if (results.cameraError === "insecure" || results.microphoneError === "insecure") red.push("insecure");
  if (!browser.supported) red.push("browser-unsupported");
  else if (!browser.current) yellow.push("browser-update");
  if (!results.microphone) {
    const kind = results.microphoneError;
    red.push(kind === "denied" || kind === "missing" || kind === "in-use" ? `mic-${kind}` : "mic-missing");
  } else if (results.micSignal === false) {
    yellow.push("mic-silent");
  }
  if (!results.camera) {
    const kind = results.cameraError;
    yellow.push(kind === "denied" || kind === "missing" || kind === "in-use" ? `camera-${kind}` : "camera-missing");
  }
  if (results.speaker === false) yellow.push("speaker");
  if (results.network) {
    const network = networkVerdict(results.network);
    (network.level === "red" ? red : yellow).push(...network.remedies);
  }
  if (results.testCallFailed) yellow.push("test-call-failed");
  const remedies = [...new Set([...red, ...yellow])];
  const result = red.length ? "red" : yellow.length ? "yellow" : "green";
  return { result, remedies };
}
