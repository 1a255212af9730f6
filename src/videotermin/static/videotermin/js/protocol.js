// The room's signaling protocol, version 1 (docs/protocol.md). Knows the WebSocket, never the page.

export const VERSION = 1;
const PING_INTERVAL = 20000;
// Closed for good: forbidden, superseded by another window, room closed. No reconnect after these.
export const FINAL_CLOSE_CODES = [4403, 4409, 4410];

/**
 * @typedef {{type: 'offer'|'answer', sdp: string}} Description
 * @typedef {{candidate: string, sdpMid?: string|null, sdpMLineIndex?: number|null,
 *            usernameFragment?: string|null}} Candidate
 * @typedef {{session: string, self: {role: string, id: string|null},
 *            ice?: import('./ice.js').Ice}} Welcome
 * @typedef {{id: string, role: string, name: string,
 *            presence: 'away'|'waiting'|'in_call'|'left', admitted: boolean,
 *            session: string|null, camera: boolean, microphone: boolean,
 *            check?: string|null, checkDetails?: Object, browser?: string, os?: string,
 *            waitingSince?: string|null}} RoomParticipant
 * @typedef {{appointment: {id: string, startsAt: string, callStarted: boolean,
 *            callEnded: boolean, cancelled: boolean, identityChecked: boolean},
 *            counselor: {name: string, session: string|null},
 *            participants: RoomParticipant[]}} Room
 * @typedef {{from: string, description?: Description, candidate?: Candidate}} Signal
 * @typedef {{code: string, message: string, ref: string|null}} ProtocolError
 * @typedef {'connecting'|'open'|'reconnecting'|'closed'} ConnectionState
 */

/** The ws:// or wss:// address of a path on this site. */
export function socketUrl(path) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${path}`;
}

export class Connection {
    /** @param {string} url */
    constructor(url) {
        this.url = url;
        /** @type {WebSocket|null} */
        this.socket = null;
        /** @type {ConnectionState} */
        this.state = 'connecting';
        /** @type {string|null} our session id, from the last welcome */
        this.session = null;
        this.attempts = 0;
        this.final = false;
        /** @type {ReturnType<typeof setInterval>|undefined} */
        this.pinger = undefined;
        /** @type {ReturnType<typeof setTimeout>|undefined} */
        this.retry = undefined;

        /** @type {(welcome: Welcome) => void} */
        this.onWelcome = () => {};
        /** @type {(room: Room) => void} */
        this.onRoom = () => {};
        /** @type {() => void} */
        this.onAdmitted = () => {};
        /** @type {(signal: Signal) => void} */
        this.onSignal = () => {};
        /** @type {(reason: string) => void} ended, cancelled, superseded, forbidden or refused */
        this.onClosed = () => {};
        /** @type {(error: ProtocolError) => void} */
        this.onError = () => {};
        /** @type {(state: ConnectionState) => void} */
        this.onStateChange = () => {};
        /** @type {(network: import('./quality.js').NetworkMessage) => void} to the counselor */
        this.onNetwork = () => {};
        /** @type {(ice: import('./ice.js').Ice) => void} fresh ICE servers, as asked for */
        this.onIce = () => {};
        /** @type {(rttMs: number) => void} the round trip of a ping to the server and back */
        this.onPong = () => {};
        /** @type {number|null} when the unanswered ping left */
        this.pingSentAt = null;
    }

    connect() {
        this.final = false;
        this.setState(this.attempts ? 'reconnecting' : 'connecting');
        const socket = new WebSocket(this.url);
        this.socket = socket;
        socket.onopen = () => {
            this.pinger = setInterval(() => this.ping(), PING_INTERVAL);
        };
        socket.onmessage = (event) => this.receive(event.data);
        socket.onclose = (event) => {
            clearInterval(this.pinger);
            if (this.socket !== socket) return;
            this.socket = null;
            if (this.final || FINAL_CLOSE_CODES.includes(event.code)) {
                if (!this.final) {
                    this.final = true;
                    // Without a "closed" message first: refused at the door (an error came before).
                    this.onClosed({4403: 'forbidden', 4409: 'superseded'}[event.code] || 'refused');
                }
                this.setState('closed');
                return;
            }
            // 1 s, 2 s, 4 s ... at most 15 s, with some jitter so that a restarted server is
            // not hit by everybody at once.
            const delay = Math.min(15000, 1000 * 2 ** this.attempts) * (0.75 + Math.random() / 2);
            this.attempts += 1;
            this.setState('reconnecting');
            this.retry = setTimeout(() => this.connect(), delay);
        };
    }

    /** Close for good, without reconnecting. */
    close() {
        this.final = true;
        clearTimeout(this.retry);
        clearInterval(this.pinger);
        if (this.socket) this.socket.close(1000);
        this.setState('closed');
    }

    /** @param {ConnectionState} state */
    setState(state) {
        if (state === this.state) return;
        this.state = state;
        this.onStateChange(state);
    }

    /**
     * Send one message in the envelope; false when the socket is not open.
     * @param {string} type
     * @param {Object} [fields]
     */
    send(type, fields = {}) {
        if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
        this.socket.send(JSON.stringify({v: VERSION, type, ...fields}));
        return true;
    }

    /** @param {{camera?: boolean, microphone?: boolean, check?: Object}} status */
    sendStatus(status) { return this.send('status', status); }

    /**
     * @param {string} to the other connection's session
     * @param {{description?: Description, candidate?: Candidate}} payload
     */
    sendSignal(to, payload) { return this.send('signal', {to, ...payload}); }

    /** @param {string} participant public id */
    admit(participant) { return this.send('admit', {participant}); }

    confirmIdentity() { return this.send('identity'); }

    leave() { return this.send('leave'); }

    end() { return this.send('end'); }

    /** A ping; its pong tells the round trip to the server (onPong). */
    ping() {
        if (this.send('ping')) this.pingSentAt = performance.now();
    }

    /** Ask for fresh ICE servers: the TURN credentials are about to expire. */
    refreshIce() { return this.send('ice_refresh'); }

    /** @param {string} text */
    receive(text) {
        let message;
        try {
            message = JSON.parse(text);
        } catch {
            return;
        }
        if (!message || message.v !== VERSION) return;
        const handler = {
            welcome: this.gotWelcome,
            room: this.gotRoom,
            admitted: this.gotAdmitted,
            signal: this.gotSignal,
            network: (/** @type {any} */ m) => this.onNetwork(m),
            ice: (/** @type {any} */ m) => this.onIce(m.ice),
            closed: this.gotClosed,
            error: this.gotError,
            pong: this.gotPong,
        }[message.type];
        if (handler) handler.call(this, message);
    }

    /** @param {Welcome} message */
    gotWelcome(message) {
        this.attempts = 0;
        this.session = message.session;
        this.setState('open');
        this.onWelcome(message);
    }

    gotPong() {
        if (this.pingSentAt === null) return;
        const rttMs = performance.now() - this.pingSentAt;
        this.pingSentAt = null;
        this.onPong(rttMs);
    }

    /** @param {Room} message */
    gotRoom(message) { this.onRoom(message); }

    gotAdmitted() { this.onAdmitted(); }

    /** @param {Signal} message */
    gotSignal(message) { this.onSignal(message); }

    /** @param {{reason: string}} message */
    gotClosed(message) {
        this.final = true;
        this.onClosed(message.reason);
    }

    /** @param {ProtocolError} message */
    gotError(message) { this.onError(message); }
}
