// The network check and the test call of the device check (J7), without touching the page.
// Round trip, download and upload are measured against the server over HTTP; the test call
// sends the citizen's camera and microphone to the server, which sends them back.

/**
 * @typedef {{rttMs: number|null, downKbps: number|null, upKbps: number|null,
 *   lossPct: number|null, testCall: boolean}} NetworkResult
 * @typedef {{ping: string, download: string, upload: string, echo: string, echoStop: string,
 *   csrf: string}} CheckUrls
 */

const PINGS = 6;
const PING_TIMEOUT_MS = 3000;
const SMALL_BYTES = 64 * 1024;
const LARGE_BYTES = 1024 * 1024;
// A small payload that arrives this fast says little: measure again with the large one.
const ENOUGH_MS = 400;
const GATHER_TIMEOUT_MS = 3000;

/** @param {number[]} values */
export function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * @param {string} url
 * @param {RequestInit} [init]
 * @param {number} [timeout]
 */
async function timedFetch(url, init = {}, timeout = 30000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const started = performance.now();
  try {
    const response = await fetch(url, {
      cache: "no-store", credentials: "same-origin", signal: controller.signal, ...init,
    });
    if (!response.ok) throw new Error(String(response.status));
    await response.arrayBuffer();
    return performance.now() - started;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Several small requests one after the other; the first only opens the connection.
 * @param {string} url
 * @returns {Promise<{rttMs: number|null, lossPct: number}>}
 */
export async function roundTrip(url) {
  /** @type {number[]} */
  const times = [];
  let lost = 0;
  for (let i = 0; i < PINGS; i += 1) {
    try {
      const elapsed = await timedFetch(`${url}?n=${i}`, {}, PING_TIMEOUT_MS);
      if (i > 0) times.push(elapsed);
    } catch {
      if (i > 0) lost += 1;
    }
  }
  const rtt = median(times);
  return { rttMs: rtt === null ? null : Math.max(1, Math.round(rtt)), lossPct: (lost * 100) / (PINGS - 1) };
}

/** @param {number} bytes @param {number} ms */
function kbps(bytes, ms) {
  return Math.round((bytes * 8) / Math.max(ms, 1));
}

/**
 * Download random bytes; a quick first one is followed by a larger one.
 * @param {string} url
 */
export async function downloadRate(url) {
  let ms = await timedFetch(`${url}?bytes=${SMALL_BYTES}`);
  if (ms >= ENOUGH_MS) return kbps(SMALL_BYTES, ms);
  ms = await timedFetch(`${url}?bytes=${LARGE_BYTES}`);
  return kbps(LARGE_BYTES, ms);
}

/** @param {number} size random bytes: compression on the way would flatter the result */
function payload(size) {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

/**
 * Upload random bytes; a quick first one is followed by a larger one.
 * @param {string} url
 * @param {string} csrf
 */
export async function uploadRate(url, csrf) {
  const send = (/** @type {number} */ size) => timedFetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", "X-CSRFToken": csrf },
    body: payload(size),
  });
  let ms = await send(SMALL_BYTES);
  if (ms >= ENOUGH_MS) return kbps(SMALL_BYTES, ms);
  ms = await send(LARGE_BYTES);
  return kbps(LARGE_BYTES, ms);
}

/**
 * Round trip, download and upload; a failed part is null.
 * @param {CheckUrls} urls
 * @returns {Promise<NetworkResult>}
 */
export async function measureNetwork(urls) {
  const ping = await roundTrip(urls.ping);
  const downKbps = await downloadRate(urls.download).catch(() => null);
  const upKbps = await uploadRate(urls.upload, urls.csrf).catch(() => null);
  return {
    rttMs: ping.rttMs, downKbps, upKbps,
    lossPct: ping.rttMs === null ? null : Math.round(ping.lossPct * 10) / 10, testCall: false,
  };
}

/** An error the server explained (a full server: "try again in a moment"). */
export class TestCallRefused extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** The test call: the own camera and microphone through the server and back. */
export class TestCall {
  /** @param {CheckUrls} urls */
  constructor(urls) {
    this.urls = urls;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    /** @type {(stream: MediaStream) => void} */
    this.onRemoteStream = () => {};
    /** @type {(state: RTCPeerConnectionState) => void} */
    this.onConnectionState = () => {};
    this.pc.ontrack = (event) => this.onRemoteStream(event.streams[0] || new MediaStream([event.track]));
    this.pc.onconnectionstatechange = () => this.onConnectionState(this.pc.connectionState);
    // For the tests: the page's test call, like the room's peers in window.videoterminPeers.
    /** @type {any} */ (globalThis).videoterminTestCall = this;
  }

  /**
   * Offer with every candidate already gathered: the server answers once and trickles nothing.
   * @param {MediaStream} stream
   */
  async start(stream) {
    for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
    for (const kind of ["audio", "video"]) {
      // Receive the echo even without such a device of our own.
      if (!stream.getTracks().some((track) => track.kind === kind)) {
        this.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.gathered();
    const response = await fetch(this.urls.echo, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": this.urls.csrf },
      body: JSON.stringify({ type: "offer", sdp: this.pc.localDescription?.sdp }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new TestCallRefused(answer.error || "", response.status);
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  }

  /** @returns {Promise<void>} */
  gathered() {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
      this.pc.addEventListener("icegatheringstatechange", () => {
        if (this.pc.iceGatheringState === "complete") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /**
   * What came back and what was lost on the way there and back.
   * @returns {Promise<{framesDecoded: number, packetsReceived: number, lossPct: number|null,
   *   rttMs: number|null}>}
   */
  async stats() {
    const report = await this.pc.getStats();
    let framesDecoded = 0;
    let packetsReceived = 0;
    let received = 0;
    let lost = 0;
    let sent = 0;
    /** @type {number|null} */
    let rttMs = null;
    report.forEach((s) => {
      if (s.type === "inbound-rtp") {
        if (s.kind === "video") framesDecoded += s.framesDecoded || 0;
        if (s.kind === "audio") packetsReceived += s.packetsReceived || 0;
        received += s.packetsReceived || 0;
        lost += Math.max(0, s.packetsLost || 0);
      } else if (s.type === "outbound-rtp") {
        sent += s.packetsSent || 0;
      } else if (s.type === "remote-inbound-rtp") {
        // The server's receiver reports: what was lost on the way up.
        lost += Math.max(0, s.packetsLost || 0);
      } else if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime) {
        rttMs = Math.round(s.currentRoundTripTime * 1000);
      }
    });
    const total = received + sent;
    const lossPct = total ? Math.round((lost * 1000) / total) / 10 : null;
    return { framesDecoded, packetsReceived, lossPct, rttMs };
  }

  /** Hang up here and tell the server, even when the page is going away. */
  stop() {
    this.pc.close();
    if (/** @type {any} */ (globalThis).videoterminTestCall === this) {
      /** @type {any} */ (globalThis).videoterminTestCall = null;
    }
    fetch(this.urls.echoStop, {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "X-CSRFToken": this.urls.csrf },
    }).catch(() => {});
  }
}

/**
 * The network numbers in a few words for the counselor, from the stored check details.
 * @param {Record<string, any>|null|undefined} details
 * @param {Record<string, string>} words templates "net-rtt", "net-down", "net-up", "net-loss"
 */
export function networkSummary(details, words) {
  if (!details) return "";
  const mbit = (/** @type {number} */ value) => decimal(value / 1000);
  /** @type {[string, any, (value: number) => string][]} */
  const parts = [
    ["net-rtt", details.rtt_ms, (value) => decimal(value, 0)],
    ["net-down", details.down_kbps, mbit],
    ["net-up", details.up_kbps, mbit],
    ["net-loss", details.loss_pct, decimal],
  ];
  return parts
    .filter(([, value]) => typeof value === "number")
    .map(([key, value, format]) => (words[key] || "{n}").replace("{n}", format(value)))
    .join(", ");
}

/**
 * A number as the page's language writes it ("5,2" in German, "5.2" in English).
 * @param {number} value @param {number} [digits] @param {string} [lang]
 */
export function decimal(value, digits = 1, lang = pageLanguage()) {
  return value.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pageLanguage() {
  return typeof document === "undefined" ? "en" : document.documentElement.lang;
}
