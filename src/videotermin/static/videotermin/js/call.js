// One WebRTC peer connection per remote session, and the local camera and microphone.
// No DOM here: the page modules attach streams to <video> elements.

/** @typedef {import('./protocol.js').Connection} Connection */
/** @typedef {import('./protocol.js').Description} Description */
/** @typedef {import('./protocol.js').Candidate} Candidate */

/** Every live peer by remote session; tests read their statistics from here. */
/** @type {Map<string, Peer>} */
export const peers = new Map();
/** @type {any} */ (globalThis).videoterminPeers = peers;
/** Called with every new Peer, e.g. to use its data channels. */
/** @type {Set<(peer: Peer) => void>} */
export const peerListeners = new Set();

export class Peer {
    /**
     * @param {Connection} connection the signaling connection
     * @param {string} remote the other side's session
     * @param {RTCConfiguration} config ICE servers (and later the relay policy)
     */
    constructor(connection, remote, config) {
        this.connection = connection;
        this.remote = remote;
        this.pc = new RTCPeerConnection(config);
        /** @type {RTCIceCandidateInit[]} candidates that came before the remote description */
        this.pending = [];
        /** @type {(stream: MediaStream) => void} */
        this.onRemoteStream = () => {};
        /** @type {(state: RTCPeerConnectionState) => void} */
        this.onConnectionState = () => {};
        /** @type {string|null} the mid of the screen's video section (share.js) */
        this.screenMid = null;
        /** @type {(track: MediaStreamTrack, transceiver: RTCRtpTransceiver) => void} */
        this.onScreenTrack = () => {};

        this.pc.onicecandidate = (event) => {
            if (event.candidate) {
                connection.sendSignal(remote, {candidate: event.candidate.toJSON()});
            }
        };
        this.pc.ontrack = (event) => {
            if (this.screenMid !== null && event.transceiver.mid === this.screenMid) {
                this.onScreenTrack(event.track, event.transceiver);
                return;
            }
            this.onRemoteStream(event.streams[0] || new MediaStream([event.track]));
        };
        /** Whether this side makes the offers, and so also the ICE restarts (the counselor). */
        this.offerer = false;
        /** @type {ReturnType<typeof setTimeout>|undefined} */
        this.restartTimer = undefined;
        this.pc.onconnectionstatechange = () => {
            const state = this.pc.connectionState;
            this.onConnectionState(state);
            if (this.offerer) this.watch(state);
        };
        peers.set(remote, this);
        // Chat and documents (chat.js, transfer.js): pre-negotiated channels exist on both sides
        // at once, without ondatachannel or a renegotiation; DTLS encrypts them end to end.
        this.chat = this.pc.createDataChannel('chat', {negotiated: true, id: 0});
        this.files = this.pc.createDataChannel('files', {negotiated: true, id: 1});
        for (const listener of peerListeners) listener(this);
    }

    /** @param {MediaStream|null} stream */
    addLocalStream(stream) {
        if (!stream) return;
        for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
    }

    /**
     * Restart ICE when the path between the two breaks (a network change, a lost route): at
     * once on "failed", after a grace period on "disconnected", which often heals by itself.
     * @param {RTCPeerConnectionState} state
     */
    watch(state) {
        clearTimeout(this.restartTimer);
        if (state === 'failed') this.restartIce();
        else if (state === 'disconnected') this.restartTimer = setTimeout(() => this.restartIce(), 3000);
    }

    async restartIce() {
        if (this.pc.signalingState !== 'stable') return; // a negotiation is under way already
        await this.pc.setLocalDescription(await this.pc.createOffer({iceRestart: true}));
        this.sendDescription();
    }

    /** Offer audio and video; receive both even without a camera or microphone of our own. */
    async makeOffer() {
        this.offerer = true;
        for (const kind of ['audio', 'video']) {
            if (!this.pc.getTransceivers().some((t) => t.receiver.track.kind === kind)) {
                this.pc.addTransceiver(kind, {direction: 'recvonly'});
            }
        }
        // The screen's own video section, reserved from the start: sharing only replaces its
        // track, with no renegotiation (docs/protocol.md).
        if (this.screenMid === null) this.pc.addTransceiver('video', {direction: 'sendrecv'});
        await this.pc.setLocalDescription(await this.pc.createOffer());
        this.screenMid ??= screenMid(/** @type {any} */ (this.pc.localDescription).sdp);
        this.sendDescription();
    }

    /** @param {Description} description */
    async handleDescription(description) {
        if (description.type === 'offer') this.screenMid = screenMid(description.sdp);
        await this.pc.setRemoteDescription(description);
        // Answer the screen's section send-and-receive, so either side may share later.
        const screen = this.screenTransceiver();
        if (screen && description.type === 'offer') screen.direction = 'sendrecv';
        for (const candidate of this.pending.splice(0)) await this.addCandidate(candidate);
        if (description.type === 'offer') {
            await this.pc.setLocalDescription(await this.pc.createAnswer());
            this.sendDescription();
        }
    }

    /** The transceiver of the screen's video section, once negotiated. */
    screenTransceiver() {
        return this.pc.getTransceivers().find((t) => t.mid === this.screenMid) || null;
    }

    /** @param {Candidate} candidate */
    async handleCandidate(candidate) {
        if (!this.pc.remoteDescription) {
            this.pending.push(candidate);
            return;
        }
        await this.addCandidate(candidate);
    }

    /** @param {RTCIceCandidateInit} candidate */
    async addCandidate(candidate) {
        try {
            await this.pc.addIceCandidate(candidate);
        } catch (error) {
            // A candidate of an older negotiation: harmless, the others still connect.
            console.warn('ICE candidate refused', error);
        }
    }

    sendDescription() {
        const {type, sdp} = /** @type {RTCSessionDescription} */ (this.pc.localDescription);
        this.connection.sendSignal(this.remote, {description: {type: /** @type {any} */ (type), sdp}});
    }

    close() {
        clearTimeout(this.restartTimer);
        this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
        this.pc.close();
        if (peers.get(this.remote) === this) peers.delete(this.remote);
    }
}

/**
 * The mid of an offer's second video section, which always carries the screen.
 * @param {string} sdp
 * @returns {string|null}
 */
export function screenMid(sdp) {
    const mids = [];
    for (const section of sdp.split(/\r?\nm=/).slice(1)) {
        const mid = /\na=mid:(\S+)/.exec(section);
        if (section.startsWith('video') && mid) mids.push(mid[1]);
    }
    return mids[1] ?? null;
}

/** Close every peer connection (hanging up, or the room closed). */
export function closeAll() {
    for (const peer of [...peers.values()]) peer.close();
}

/** The own camera and microphone; "off" only disables the track, so no renegotiation. */
export class LocalMedia {
    constructor() {
        /** @type {MediaStream|null} */
        this.stream = null;
        this.camera = true;
        this.microphone = true;
    }

    /** Ask for camera and microphone; fall back to the microphone alone, then to nothing. */
    async start() {
        for (const constraints of [{audio: true, video: true}, {audio: true}]) {
            try {
                this.stream = await navigator.mediaDevices.getUserMedia(constraints);
                break;
            } catch (error) {
                console.warn('getUserMedia', error);
            }
        }
        this.camera = this.has('video');
        this.microphone = this.has('audio');
        return this.stream;
    }

    /** @param {'audio'|'video'} kind */
    has(kind) {
        return !!this.stream && this.stream.getTracks().some((t) => t.kind === kind);
    }

    /** @param {'audio'|'video'} kind @param {boolean} on */
    enable(kind, on) {
        if (!this.stream) return;
        for (const track of this.stream.getTracks()) if (track.kind === kind) track.enabled = on;
        if (kind === 'video') this.camera = on && this.has('video');
        else this.microphone = on && this.has('audio');
    }

    /** @returns {{camera: boolean, microphone: boolean}} */
    status() {
        return {camera: this.camera, microphone: this.microphone};
    }

    stop() {
        if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    }
}

/**
 * Toggle camera or microphone and tell the room.
 * @param {LocalMedia} media @param {Connection} connection
 * @param {'audio'|'video'} kind @param {boolean} on
 */
export function setDevice(media, connection, kind, on) {
    media.enable(kind, on);
    connection.sendStatus(media.status());
}

/**
 * Hang up: leave the room, close the peers, release camera and microphone.
 * @param {LocalMedia} media @param {Connection} connection
 */
export function hangUp(media, connection) {
    connection.leave();
    closeAll();
    media.stop();
}
