// The consultation's media as a full mesh: one peer connection to every other member in the
// call, browser to browser, encrypted end to end (DTLS-SRTP). No DOM here.
//
// Perfect negotiation (the W3C WebRTC example): either side may offer at any time, a collision
// of offers is resolved by the polite side rolling back. Who is polite is decided without
// talking: the side whose session id sorts lower. The other side sets up the three media
// sections (audio, camera, screen) and so makes the first offer.
//
// MeshSession is the page's media session; a Janus SFU session can stand beside it with the same
// shape (docs/architecture.md, "Media session"):
//   events   `peer` (a Peer was created), `peerclosed` {member}, `track` {member, kind, track},
//            `state` {member, state}, `message` {member, channel, data}
//   methods  setTrack(kind, track), setScreen(track), send(channel, data, to?), connections(),
//            close()

/** @typedef {import('./room.js').Room} Room */
/** @typedef {import('./protocol.js').Connection} Connection */
/** @typedef {import('./protocol.js').Description} Description */
/** @typedef {import('./protocol.js').Candidate} Candidate */
/** @typedef {import('./protocol.js').Member} Member */
/** @typedef {'audio'|'camera'|'screen'} TrackKind */

/** Every live peer by its remote session; tests read their statistics from here. */
/** @type {Map<string, Peer>} */
export const peers = new Map();
/** @type {any} */ (globalThis).videoterminPeers = peers;

/** The pre-negotiated data channels of every peer connection (docs/protocol.md). */
export const CHANNELS = /** @type {const} */ ({chat: 0, files: 1, control: 2});

/**
 * The mids of a description's audio, camera and screen sections: the first audio section, the
 * first and the second video section.
 * @param {string} sdp
 * @returns {{audio: string|null, camera: string|null, screen: string|null}}
 */
export function sectionMids(sdp) {
    /** @type {string[]} */
    const audio = [];
    /** @type {string[]} */
    const video = [];
    for (const section of sdp.split(/\r?\nm=/).slice(1)) {
        const mid = /\na=mid:(\S+)/.exec(section);
        if (!mid) continue;
        if (section.startsWith('audio')) audio.push(mid[1]);
        else if (section.startsWith('video')) video.push(mid[1]);
    }
    return {audio: audio[0] ?? null, camera: video[0] ?? null, screen: video[1] ?? null};
}

/** How long a new connection may stay without progress before ICE is restarted, and at most. */
export const SETUP_GRACE = 10000;
const SETUP_GRACE_MAX = 60000;

/** Whether our side is the polite one towards that session. @param {string} own @param {string} remote */
export function isPolite(own, remote) {
    return own < remote;
}

export class Peer extends EventTarget {
    /**
     * @param {{member: string, session: string, polite: boolean, config: RTCConfiguration,
     *          tracks: Record<TrackKind, MediaStreamTrack|null>,
     *          signal: (payload: {description?: Description, candidate?: Candidate}) => void}} options
     */
    constructor({member, session, polite, config, tracks, signal}) {
        super();
        this.member = member;
        this.remote = session;
        this.polite = polite;
        /** Whether this side set up the sections and makes the ICE restarts first. */
        this.offerer = !polite;
        this.signal = signal;
        /** @type {Record<TrackKind, MediaStreamTrack|null>} what we send, kept for late sections */
        this.tracks = {...tracks};
        this.pc = new RTCPeerConnection(config);
        /** @type {RTCIceCandidateInit[]} candidates that came before the remote description */
        this.pending = [];
        this.makingOffer = false;
        this.ignoreOffer = false;
        /** @type {Promise<void>} messages are handled in order, one at a time */
        this.queue = Promise.resolve();
        /** @type {Record<TrackKind, RTCRtpTransceiver|null>} */
        this.sections = {audio: null, camera: null, screen: null};
        /** @type {{audio: string|null, camera: string|null, screen: string|null}|null} */
        this.mids = null;
        /** @type {ReturnType<typeof setTimeout>|undefined} */
        this.restartTimer = undefined;
        this.setupGrace = SETUP_GRACE;
        /** How often ICE was restarted, and in which states (the bench reports them). */
        this.restarts = 0;
        /** @type {{connection: string, signaling: string, ice: string, gathering: string}[]} */
        this.restartStates = [];
        this.closed = false;
        // Chat, documents and control messages: negotiated channels exist on both sides at once,
        // without ondatachannel; DTLS encrypts them end to end.
        this.chat = this.pc.createDataChannel('chat', {negotiated: true, id: CHANNELS.chat});
        this.files = this.pc.createDataChannel('files', {negotiated: true, id: CHANNELS.files});
        this.control = this.pc.createDataChannel('control', {negotiated: true, id: CHANNELS.control});
        for (const channel of [this.chat, this.files, this.control]) channel.binaryType = 'arraybuffer';
        // Documents pause while much is buffered and go on when it drains (transfer.js).
        this.files.bufferedAmountLowThreshold = 256 * 1024;

        this.pc.onicecandidate = (event) => {
            if (event.candidate) this.signal({candidate: event.candidate.toJSON()});
        };
        this.pc.onnegotiationneeded = () => { this.negotiate(); };
        this.pc.ontrack = (event) => this.gotTrack(event.transceiver, event.track);
        this.pc.onconnectionstatechange = () => {
            const state = this.pc.connectionState;
            this.emit('state', state);
            this.watch(state);
        };
        if (!polite) {
            // Send and receive on all three sections from the start, with or without a track:
            // either side can then start a camera, a microphone or a screen without a new offer.
            this.sections.audio = this.pc.addTransceiver(this.tracks.audio || 'audio',
                {direction: 'sendrecv'});
            this.sections.camera = this.pc.addTransceiver(this.tracks.camera || 'video',
                {direction: 'sendrecv'});
            this.sections.screen = this.pc.addTransceiver(this.tracks.screen || 'video',
                {direction: 'sendrecv'});
        }
        this.watch(this.pc.connectionState);
        peers.set(session, this);
    }

    /** @param {string} type @param {any} [detail] */
    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, {detail}));
    }

    async negotiate() {
        if (this.closed) return;
        // The polite side speaks only once spoken to. Its data channels alone would make it
        // offer first, and offers from both sides at the very start keep colliding in Chromium
        // (each rollback leaves the channels' transport unnegotiated, so both offer again).
        if (this.polite && !this.pc.currentRemoteDescription) return;
        try {
            this.makingOffer = true;
            await this.pc.setLocalDescription();
            this.learnMids(this.pc.localDescription);
            this.sendDescription();
        } catch (error) {
            console.warn('negotiation', error);
        } finally {
            this.makingOffer = false;
        }
    }

    /** @param {RTCSessionDescription|RTCSessionDescriptionInit|null} description */
    learnMids(description) {
        if (!this.mids && description && description.sdp) {
            const mids = sectionMids(description.sdp);
            if (mids.screen !== null) this.mids = mids;
        }
    }

    /** @param {{description?: Description, candidate?: Candidate}} signal */
    handle(signal) {
        this.queue = this.queue.then(async () => {
            if (this.closed) return;
            if (signal.description) await this.handleDescription(signal.description);
            else if (signal.candidate) await this.handleCandidate(signal.candidate);
        }).catch((error) => console.warn('signal', error));
    }

    /** @param {Description} description */
    async handleDescription(description) {
        const offer = description.type === 'offer';
        const collision = offer && (this.makingOffer || this.pc.signalingState !== 'stable');
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        this.learnMids(description);
        // The polite side rolls its own offer back implicitly.
        await this.pc.setRemoteDescription(/** @type {RTCSessionDescriptionInit} */ (description));
        if (offer) {
            this.adoptSections();
            await this.pc.setLocalDescription();
            this.sendDescription();
        }
        for (const candidate of this.pending.splice(0)) await this.addCandidate(candidate);
        this.applyScreenParameters();
    }

    /** The answering side finds its three sections in the offer and sends on them. */
    adoptSections() {
        if (!this.mids) return;
        for (const kind of /** @type {TrackKind[]} */ (['audio', 'camera', 'screen'])) {
            if (this.sections[kind]) continue;
            const transceiver = this.pc.getTransceivers().find((t) => t.mid === this.mids?.[kind]);
            if (!transceiver) continue;
            this.sections[kind] = transceiver;
            transceiver.direction = 'sendrecv';
            const track = this.tracks[kind];
            if (track) transceiver.sender.replaceTrack(track).catch(console.warn);
        }
    }

    /** @param {RTCRtpTransceiver} transceiver @returns {TrackKind|null} */
    kindOf(transceiver) {
        for (const kind of /** @type {TrackKind[]} */ (['audio', 'camera', 'screen'])) {
            if (this.sections[kind] === transceiver) return kind;
            if (this.mids && transceiver.mid !== null && this.mids[kind] === transceiver.mid) return kind;
        }
        return null;
    }

    /** @param {RTCRtpTransceiver} transceiver @param {MediaStreamTrack} track */
    gotTrack(transceiver, track) {
        const kind = this.kindOf(transceiver) || (track.kind === 'audio' ? 'audio' : 'camera');
        this.emit('track', {kind, track});
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
            // A candidate of an offer we ignored, or of an older negotiation: harmless.
            if (!this.ignoreOffer) console.warn('ICE candidate refused', error);
        }
    }

    sendDescription() {
        const description = this.pc.localDescription;
        if (!description) return;
        this.signal({description: {type: /** @type {any} */ (description.type), sdp: description.sdp}});
    }

    /**
     * Restart ICE when the path between the two breaks (a network change, a lost route), or
     * when a connection does not come up at all (an offer, answer or candidate that got lost on
     * the way). The offerer first; the other side only if the offerer's page does not (it may
     * be gone). A connection that keeps not coming up is retried less and less often.
     * @param {RTCPeerConnectionState} state
     */
    watch(state) {
        clearTimeout(this.restartTimer);
        if (state === 'connected') this.setupGrace = SETUP_GRACE;
        // A connection still checking its candidate pairs is making progress (slowly, on a
        // starved machine): it gets longer than one where nothing happens at all.
        const grace = state === 'failed' ? 0 : state === 'disconnected' ? 3000
            : state === 'new' ? this.setupGrace : state === 'connecting' ? 2 * this.setupGrace
            : null;
        if (grace === null) return;
        this.restartTimer = setTimeout(() => this.restartIce(), grace + (this.offerer ? 0 : 4000));
    }

    async restartIce() {
        if (this.closed) return;
        const state = this.pc.connectionState;
        if (state === 'new' || state === 'connecting') {
            this.setupGrace = Math.min(this.setupGrace * 2, SETUP_GRACE_MAX);
            this.watch(state);
        }
        // Fires negotiationneeded once stable: an offer with new ICE credentials, from
        // whichever side asks. An offer of ours that was never answered is made anew at once.
        this.restarts += 1;
        this.restartStates.push({connection: state, signaling: this.pc.signalingState,
            ice: this.pc.iceConnectionState, gathering: this.pc.iceGatheringState});
        this.pc.restartIce();
        if (this.pc.signalingState === 'have-local-offer') await this.negotiate();
    }

    /**
     * Send another track of a kind (a camera switch, the screen, null to stop).
     * @param {TrackKind} kind @param {MediaStreamTrack|null} track
     */
    async setTrack(kind, track) {
        this.tracks[kind] = track;
        const section = this.sections[kind];
        if (section) await section.sender.replaceTrack(track);
        if (kind === 'screen') this.applyScreenParameters();
    }

    /**
     * A shared screen must stay sharp: full resolution, fewer frames when the link is tight; and
     * a section without a screen sends nothing at all (some browsers repeat the last frame).
     */
    applyScreenParameters() {
        const section = this.sections.screen;
        if (!section || this.closed) return;
        const sender = section.sender;
        const parameters = /** @type {any} */ (sender.getParameters());
        const encoding = parameters.encodings && parameters.encodings[0];
        if (!encoding) return; // not negotiated yet: called again after the negotiation
        const active = !!this.tracks.screen;
        if (encoding.active === active && encoding.scaleResolutionDownBy === 1
            && parameters.degradationPreference === 'maintain-resolution') return;
        encoding.active = active;
        encoding.scaleResolutionDownBy = 1;
        parameters.degradationPreference = 'maintain-resolution';
        sender.setParameters(parameters).catch((error) => console.warn('screen parameters', error));
    }

    /** The sender of our camera, for the quality modes (quality.js). */
    get cameraSender() {
        return this.sections.camera ? this.sections.camera.sender : null;
    }

    close() {
        if (this.closed) return;
        this.closed = true;
        clearTimeout(this.restartTimer);
        this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
        this.pc.onnegotiationneeded = null;
        this.pc.close();
        if (peers.get(this.remote) === this) peers.delete(this.remote);
        this.emit('closed');
    }
}

/** The page's media session: a peer connection to every other member in the call. */
export class MeshSession extends EventTarget {
    /**
     * @param {{connection: Connection, room: Room, ready: Promise<unknown>,
     *          tracks: () => Record<TrackKind, MediaStreamTrack|null>,
     *          config: RTCConfiguration}} options
     */
    constructor({connection, room, ready, tracks, config}) {
        super();
        this.connection = connection;
        this.room = room;
        this.config = config;
        this.localTracks = tracks;
        /** @type {MediaStreamTrack|null} */
        this.screen = null;
        /** @type {Map<string, Peer>} by member id */
        this.peers = new Map();
        /** @type {string|null} the own session the peers were made for */
        this.session = null;
        this.closed = false;
        /** @type {(step: () => void) => void} run after what is queued */
        this.later = () => {};
        /** @type {Promise<unknown>} nothing is set up before the own camera is asked for */
        this.queue = ready.catch(() => undefined);

        const later = (/** @type {() => void} */ step) => {
            this.queue = this.queue.then(step).catch((error) => console.warn('mesh', error));
        };
        this.later = later;
        room.addEventListener('joined', () => later(() => this.sync()));
        room.addEventListener('member', () => later(() => this.sync()));
        room.addEventListener('appointment', () => later(() => this.sync()));
        connection.addEventListener('signal', (event) => {
            const signal = /** @type {CustomEvent} */ (event).detail;
            later(() => this.route(signal));
        });
    }

    /** @param {string} type @param {any} [detail] */
    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, {detail}));
    }

    /** One peer for every other member in the call; none while we are not in it. */
    sync() {
        if (this.closed) return;
        if (this.room.session !== this.session) {
            // A new connection of our own: the others made new peers for it, so do we.
            for (const id of [...this.peers.keys()]) this.drop(id);
            this.session = this.room.session;
        }
        const wanted = this.room.inCall ? this.room.others() : [];
        for (const [id, peer] of [...this.peers]) {
            const member = wanted.find((m) => m.id === id);
            if (member ? member.session !== peer.remote : !this.between(id, peer)) this.drop(id);
        }
        for (const member of wanted) if (!this.peers.has(member.id)) this.add(member);
    }

    /**
     * Whether the member is only between two sockets (its node died, its network dropped) while
     * the media between us still flows: the peer connection stays, and goes on when the member is
     * back under the same session. It goes when the member leaves, or when it stops carrying.
     * @param {string} id @param {Peer} peer
     */
    between(id, peer) {
        const member = this.room.member(id);
        return this.room.inCall && !!member && member.presence === 'away'
            && peer.pc.connectionState === 'connected';
    }

    /** @param {import('./protocol.js').Signal} signal */
    route(signal) {
        if (this.closed || !this.room.inCall) return;
        const member = this.room.member(signal.member);
        // Only from the member's current connection, as the server stamped it.
        if (!member || member.session !== signal.from) return;
        let peer = this.peers.get(member.id);
        if (!peer || peer.remote !== signal.from) {
            this.drop(member.id);
            peer = this.add(member);
        }
        peer.handle(signal);
    }

    /** @param {Member} member */
    add(member) {
        const session = /** @type {string} */ (member.session);
        const peer = new Peer({
            member: member.id,
            session,
            polite: isPolite(/** @type {string} */ (this.room.session), session),
            config: this.config,
            tracks: {...this.localTracks(), screen: this.screen},
            signal: (payload) => this.connection.sendSignal(session, payload),
        });
        this.peers.set(member.id, peer);
        peer.addEventListener('track', (event) => this.emit('track',
            {member: member.id, .../** @type {CustomEvent} */ (event).detail}));
        peer.addEventListener('state', (event) => {
            this.emit('state', {member: member.id, state: /** @type {CustomEvent} */ (event).detail});
            // A connection kept for a member between sockets goes once it stops carrying.
            this.later(() => this.sync());
        });
        for (const channel of [peer.chat, peer.files, peer.control]) {
            channel.addEventListener('message', (event) => this.emit('message',
                {member: member.id, channel: channel.label, data: event.data, peer}));
        }
        this.emit('peer', peer);
        return peer;
    }

    /** @param {string} id */
    drop(id) {
        const peer = this.peers.get(id);
        if (!peer) return;
        this.peers.delete(id);
        peer.close();
        this.emit('peerclosed', {member: id, peer});
    }

    /**
     * The own camera or microphone changed (another device, or none).
     * @param {'audio'|'camera'} kind @param {MediaStreamTrack|null} track
     */
    async setTrack(kind, track) {
        await Promise.all([...this.peers.values()].map((peer) => peer.setTrack(kind, track)));
    }

    /** Share a screen with everybody in the call, or stop (null). @param {MediaStreamTrack|null} track */
    async setScreen(track) {
        this.screen = track;
        await Promise.all([...this.peers.values()].map((peer) => peer.setTrack('screen', track)));
    }

    /**
     * Send on a data channel to everybody, or to one member; returns how many got it now.
     * @param {'chat'|'files'|'control'} label @param {string} data @param {string|null} [to]
     */
    send(label, data, to = null) {
        let sent = 0;
        for (const peer of this.peers.values()) {
            if (to !== null && peer.member !== to) continue;
            const channel = /** @type {RTCDataChannel} */ (peer[label]);
            if (channel.readyState === 'open') {
                channel.send(data);
                sent += 1;
            }
        }
        return sent;
    }

    /** The running peer connections with the member at the other end. */
    connections() {
        return [...this.peers.values()];
    }

    close() {
        this.closed = true;
        for (const id of [...this.peers.keys()]) this.drop(id);
    }
}
