// Quality modes, the automatic step-down and the network samples. No DOM here: the page
// modules show the mode, the indicator and the samples (quality-ui.js).
//
// Modes apply to what WE send, without renegotiation: "saver" caps the video sender with
// RTCRtpSender.setParameters, "audio" deactivates its encoding (the track stays attached, so
// going back up needs no new offer). A receiver cannot switch off incoming video in WebRTC
// without renegotiating, so each page tells its peers over the control channel which mode it
// receives at most, and the other side caps what it sends to it (quality-ui.js).
//
// In a call of many, the uplink is shared by every peer: in high quality each peer gets a share
// of HIGH_BUDGET, and above CROWD people data saver is the default (docs/protocol.md).

/** @typedef {'high'|'saver'|'audio'} Mode */
/** @typedef {'good'|'fair'|'poor'} Grade */
/**
 * One measurement of a connection, every SAMPLE_INTERVAL; null where the browser knows nothing yet.
 * @typedef {{rttMs: number|null, lossPct: number|null, kbpsOut: number|null,
 *            kbpsIn: number|null, availableKbps: number|null}} Sample
 */
/**
 * What the counselor's page hears of a participant's sample (docs/protocol.md).
 * @typedef {{rttMs: number|null, lossPct: number|null, kbpsOut: number|null,
 *            kbpsIn: number|null, mode: Mode}} Report
 * @typedef {{participant: string, name: string, session: string, network: Report}} NetworkMessage
 */

/** From best to worst; a step down moves one to the right. */
/** @type {Mode[]} */
export const MODES = ['high', 'saver', 'audio'];
export const SAMPLE_INTERVAL = 2000;
/** Bad samples in a row before stepping down, good ones before stepping back up. */
export const DOWN_AFTER = 3;
export const UP_AFTER = 10;
/** Data saver: about 150 kbit/s, at most 320x240 at 15 frames per second. */
export const SAVER = {maxBitrate: 150_000, maxFramerate: 15, width: 320, height: 240};
/** Outgoing bandwidth (kbit/s) a mode needs per peer; below it the sample is poor. */
const NEEDS = {high: 500, saver: 100, audio: 0};
/** The camera's bits per second in high quality, shared by all peers of a page. */
export const HIGH_BUDGET = 1_500_000;
/** Above this many people in the call, data saver is the default. */
export const CROWD = 4;

/**
 * Good, fair or poor: loss and round trip first, then whether the estimated outgoing bandwidth
 * still carries the mode we send in.
 * @param {Sample} sample @param {Mode} [mode] @param {number} [peers] how many share the uplink
 * @returns {Grade}
 */
export function grade(sample, mode = 'high', peers = 1) {
    const loss = sample.lossPct ?? 0;
    const rtt = sample.rttMs ?? 0;
    const needs = mode === 'high' ? Math.min(NEEDS.high, NEEDS.high * 2 / Math.max(1, peers))
        : NEEDS[mode] * Math.max(1, peers);
    const starved = sample.availableKbps !== null && sample.availableKbps < needs;
    if (loss >= 10 || rtt >= 800 || starved) return 'poor';
    if (loss >= 3 || rtt >= 300) return 'fair';
    return 'good';
}

/** @param {Mode} a @param {Mode} b @returns {Mode} the lower of two modes */
export function lower(a, b) {
    return MODES[Math.max(MODES.indexOf(a), MODES.indexOf(b))];
}

/**
 * The mode to send in next: one step down after DOWN_AFTER poor samples in a row, one step up
 * after UP_AFTER good ones, never above the participant's chosen mode. Samples are oldest
 * first and graded against the current mode; the caller starts a new history after a change.
 * @param {Sample[]} samples @param {Mode} current @param {Mode} chosen
 * @param {{downAfter?: number, upAfter?: number}} [limits]
 * @returns {Mode}
 */
export function decide(samples, current, chosen, {downAfter = DOWN_AFTER, upAfter = UP_AFTER} = {}) {
    current = lower(current, chosen);
    const grades = samples.map((s) => grade(s, current));
    const last = (/** @type {number} */ n, /** @type {Grade} */ g) =>
        grades.length >= n && grades.slice(-n).every((x) => x === g);
    const index = MODES.indexOf(current);
    if (last(downAfter, 'poor') && index < MODES.length - 1) return MODES[index + 1];
    if (last(upAfter, 'good') && current !== chosen) return MODES[index - 1];
    return current;
}

/**
 * Set a camera's sender to a mode; does nothing when it is already so.
 * @param {RTCRtpSender|null} sender @param {Mode} mode @param {number} [peers] sharing the uplink
 */
export async function applyMode(sender, mode, peers = 1) {
    if (!sender || !sender.track || sender.track.kind !== 'video') return;
    const parameters = sender.getParameters();
    const encoding = parameters.encodings && parameters.encodings[0];
    if (!encoding) return; // not negotiated yet: the next tick applies the mode
    const want = /** @type {any} */ (encodingFor(mode, sender.track, peers));
    const have = /** @type {any} */ (encoding);
    const keys = ['active', 'maxBitrate', 'maxFramerate', 'scaleResolutionDownBy'];
    if (keys.every((key) => have[key] === want[key] || (key !== 'active' && !have[key] && !want[key]))) {
        return;
    }
    for (const key of keys) {
        if (key in want) have[key] = want[key];
        else delete have[key];
    }
    await sender.setParameters(parameters);
}

/**
 * @param {Mode} mode @param {MediaStreamTrack} track @param {number} [peers] sharing the uplink
 * @returns {RTCRtpEncodingParameters}
 */
export function encodingFor(mode, track, peers = 1) {
    if (mode === 'audio') return {active: false};
    if (mode === 'high') {
        return peers > 1 ? {active: true, maxBitrate: Math.round(HIGH_BUDGET / peers)} : {active: true};
    }
    const {width = 640, height = 480} = track.getSettings();
    const scale = Math.max(1, width / SAVER.width, height / SAVER.height);
    return {active: true, maxBitrate: SAVER.maxBitrate, maxFramerate: SAVER.maxFramerate,
        scaleResolutionDownBy: scale};
}

/**
 * Measure a peer connection: round trip and outgoing estimate of the selected candidate pair,
 * loss the other side reported (remote-inbound-rtp), and bit rates since the last call.
 */
export class Meter {
    /** @param {RTCPeerConnection} pc */
    constructor(pc) {
        this.pc = pc;
        /** @type {{at: number, sent: number, received: number}|null} */
        this.before = null;
        /** @type {Map<string, {lost: number, packets: number}>} */
        this.remote = new Map();
    }

    /** @returns {Promise<Sample>} */
    async sample() {
        const stats = await this.pc.getStats();
        /** @type {any} */
        let pair = null;
        /** @type {Sample} */
        const sample = {rttMs: null, lossPct: null, kbpsOut: null, kbpsIn: null, availableKbps: null};
        let lost = 0;
        let expected = 0;
        stats.forEach((/** @type {any} */ report) => {
            if (report.type === 'transport' && report.selectedCandidatePairId) {
                pair = stats.get(report.selectedCandidatePairId);
            } else if (report.type === 'remote-inbound-rtp') {
                // Loss since the last sample from the cumulative counters (what the other side
                // lost of what we sent); fractionLost is only the last RTCP report's view.
                const outbound = report.localId ? stats.get(report.localId) : null;
                const was = this.remote.get(report.id);
                const now = {lost: report.packetsLost || 0, packets: outbound ? outbound.packetsSent || 0 : 0};
                this.remote.set(report.id, now);
                if (was) {
                    lost += Math.max(0, now.lost - was.lost);
                    expected += Math.max(0, now.packets - was.packets);
                } else if (report.fractionLost !== undefined) {
                    sample.lossPct = Math.max(sample.lossPct ?? 0, report.fractionLost * 100);
                }
                if (sample.rttMs === null && report.roundTripTime !== undefined) {
                    sample.rttMs = report.roundTripTime * 1000;
                }
            }
        });
        if (!pair) {
            stats.forEach((/** @type {any} */ report) => {
                if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') {
                    pair = report;
                }
            });
        }
        if (expected > 0) sample.lossPct = Math.min(100, (100 * lost) / expected);
        if (pair) {
            if (pair.currentRoundTripTime !== undefined) sample.rttMs = pair.currentRoundTripTime * 1000;
            if (pair.availableOutgoingBitrate !== undefined) {
                sample.availableKbps = pair.availableOutgoingBitrate / 1000;
            }
            const now = {at: performance.now(), sent: pair.bytesSent || 0, received: pair.bytesReceived || 0};
            const was = this.before;
            if (was && now.at > was.at) {
                const seconds = (now.at - was.at) / 1000;
                sample.kbpsOut = Math.max(0, (8 * (now.sent - was.sent)) / 1000 / seconds);
                sample.kbpsIn = Math.max(0, (8 * (now.received - was.received)) / 1000 / seconds);
            }
            this.before = now;
        }
        return sample;
    }
}

/**
 * Several peers' samples as one: the worst round trip and loss, the sums of the rates, the
 * smallest outgoing estimate.
 * @param {Sample[]} samples @returns {Sample|null}
 */
export function combine(samples) {
    if (!samples.length) return null;
    /** @param {(s: Sample) => number|null} pick @param {(a: number, b: number) => number} join */
    const fold = (pick, join) => samples.map(pick).reduce(
        (a, b) => (a === null ? b : b === null ? a : join(a, b)), /** @type {number|null} */ (null));
    const sum = (/** @type {number} */ a, /** @type {number} */ b) => a + b;
    return {
        rttMs: fold((s) => s.rttMs, Math.max),
        lossPct: fold((s) => s.lossPct, Math.max),
        kbpsOut: fold((s) => s.kbpsOut, sum),
        kbpsIn: fold((s) => s.kbpsIn, sum),
        availableKbps: fold((s) => s.availableKbps, Math.min),
    };
}

/**
 * The mode a page sends in by default: data saver once more than CROWD people are in the call.
 * @param {number} people everybody in the call, oneself included @returns {Mode}
 */
export function crowdMode(people) {
    return people > CROWD ? 'saver' : 'high';
}

/**
 * @typedef {{pc: RTCPeerConnection, member: string, cameraSender: RTCRtpSender|null}} QualityPeer
 */

/**
 * The own quality: the chosen mode, the mode actually sent in, the automatic step-down over the
 * page's peer connections, and the last sample.
 */
export class Quality {
    /** @param {() => QualityPeer[]} connections the running peer connections */
    constructor(connections) {
        this.connections = connections;
        /** @type {Mode} */
        this.chosen = 'high';
        /** The person chose a mode themselves: the crowd's default no longer applies. */
        this.explicit = false;
        /** @type {Mode} */
        this.current = 'high';
        /** @type {Sample[]} */
        this.history = [];
        /** @type {Sample|null} */
        this.last = null;
        /** @type {Grade|null} */
        this.grade = null;
        /** Good samples needed before stepping up; doubles when a step up did not hold. */
        this.upAfter = UP_AFTER;
        this.steppedUpAt = -Infinity;
        /** @type {WeakMap<RTCPeerConnection, Meter>} */
        this.meters = new WeakMap();
        /** @type {(peer: QualityPeer) => Mode} what the other side receives at most */
        this.capFor = () => 'high';
        /** @type {(mode: Mode, why: 'chosen'|'down'|'up'|'crowd') => void} */
        this.onMode = () => {};
        /** @type {(sample: Sample, grade: Grade) => void} */
        this.onSample = () => {};
        /** @type {ReturnType<typeof setInterval>|undefined} */
        this.timer = undefined;
    }

    start() {
        this.timer = setInterval(() => this.tick().catch((e) => console.warn('quality', e)),
            SAMPLE_INTERVAL);
    }

    stop() { clearInterval(this.timer); }

    /** The highest mode in effect: the chosen one, or the crowd's default when none was chosen. */
    get ceiling() {
        if (this.explicit) return this.chosen;
        return lower(this.chosen, crowdMode(this.connections().length + 1));
    }

    /** The participant picks a mode: it applies at once and caps the step-down. @param {Mode} mode */
    choose(mode) {
        this.chosen = mode;
        this.explicit = true;
        this.upAfter = UP_AFTER;
        this.change(mode, 'chosen');
    }

    /** @param {Mode} mode @param {'chosen'|'down'|'up'|'crowd'} why */
    change(mode, why) {
        const now = performance.now();
        if (why === 'up') this.steppedUpAt = now;
        // A step up that fails within a minute: wait twice as long before the next try.
        if (why === 'down' && now - this.steppedUpAt < 60_000) this.upAfter *= 2;
        this.history = [];
        this.current = mode;
        this.applyAll().catch((e) => console.warn('quality', e));
        this.onMode(mode, why);
    }

    async applyAll() {
        const peers = this.connections();
        for (const peer of peers) {
            await applyMode(peer.cameraSender, lower(this.current, this.capFor(peer)), peers.length);
        }
    }

    async tick() {
        // More people joined: down to the crowd's default (back up by the usual good samples).
        const capped = lower(this.current, this.ceiling);
        if (capped !== this.current) this.change(capped, 'crowd');
        // Before measuring: a new peer sends in the mode as soon as it has been negotiated.
        await this.applyAll();
        const connected = this.connections().filter((p) => p.pc.connectionState === 'connected');
        if (!connected.length) {
            this.last = null;  // no call: nothing of it to report any more
            return;
        }
        const samples = [];
        for (const {pc} of connected) {
            let meter = this.meters.get(pc);
            if (!meter) this.meters.set(pc, meter = new Meter(pc));
            samples.push(await meter.sample());
        }
        const sample = /** @type {Sample} */ (combine(samples));
        this.last = sample;
        this.grade = grade(sample, this.current, connected.length);
        this.history = [...this.history, sample].slice(-Math.max(DOWN_AFTER, this.upAfter));
        this.onSample(sample, this.grade);
        const next = decide(this.history, this.current, this.ceiling,
            {downAfter: DOWN_AFTER, upAfter: this.upAfter});
        if (next !== this.current) {
            this.change(next, MODES.indexOf(next) > MODES.indexOf(this.current) ? 'down' : 'up');
        }
    }

    /** The compact sample for the staff (docs/protocol.md, status.network), or null. */
    report() {
        const s = this.last;
        if (!s) return null;
        const round = (/** @type {number|null} */ n, /** @type {number} */ max) =>
            n === null ? null : Math.min(max, Math.round(n * 10) / 10);
        return {rttMs: round(s.rttMs, 60_000), lossPct: round(s.lossPct, 100),
            kbpsOut: round(s.kbpsOut, 1_000_000), kbpsIn: round(s.kbpsIn, 1_000_000),
            mode: this.current};
    }
}
