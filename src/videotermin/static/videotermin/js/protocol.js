// The room's signaling protocol, version 2 (docs/protocol.md). Knows the WebSocket, never the page.
// One Connection per page; modules listen to its events, none replaces another's handler.

export const VERSION = 2;
// A ping every few seconds; a socket that has left a ping unanswered for SILENCE_LIMIT is dead (a
// node gone, a network cut without a close), whatever the browser believes, and the page
// reconnects. Counted from the unanswered ping, not from the last message: a tab in the
// background may run its timers only once a minute, and its socket is alive all the same. The
// silence is checked on a timer of its own, so the pings can be far apart (every idle page
// pings; a node holds thousands) and a dead socket is still noticed within
// PING_INTERVAL + SILENCE_LIMIT.
export const PING_INTERVAL = 4500;
export const SILENCE_LIMIT = 5000;
// Reconnect after 0.5 s, then 1, 2, 4, and at most every 5 s, each ±25 % so that a restarted
// cluster is not hit by everybody at once.
export const RETRY_FIRST = 500;
export const RETRY_MAX = 5000;
// Closed for good: forbidden, superseded by another window, room closed. No reconnect after these.
export const FINAL_CLOSE_CODES = [4403, 4409, 4410];

/**
 * @typedef {{type: 'offer'|'answer'|'rollback', sdp?: string}} Description
 * @typedef {{candidate: string, sdpMid?: string|null, sdpMLineIndex?: number|null,
 *            usernameFragment?: string|null}} Candidate
 * @typedef {{screen: boolean, documents: boolean, chat: boolean}} May
 * @typedef {{id: string, role: string, name: string,
 *            presence: 'away'|'waiting'|'in_call'|'left', admitted: boolean,
 *            session: string|null, camera: boolean, microphone: boolean, screen: boolean,
 *            may: May, identityChecked: boolean,
 *            check?: string|null, checkDetails?: Object, browser?: string, os?: string,
 *            waitingSince?: string|null, language?: string, consented?: boolean,
 *            withdrawn?: boolean}} Member
 * @typedef {{id: string, startsAt: string, endsAt: string, callStarted: boolean,
 *            callEnded: boolean, cancelled: boolean}} Appointment
 * @typedef {{session: string, self: {id: string, role: string, may: May},
 *            appointment: Appointment, members: Member[],
 *            ice?: import('./ice.js').Ice}} Joined
 * @typedef {{op: 'added'|'changed'|'left', member: Member}} MemberDelta
 * @typedef {{from: string, member: string, description?: Description,
 *            candidate?: Candidate}} Signal
 * @typedef {{code: string, message: string, ref: string|null}} ProtocolError
 * @typedef {'connecting'|'open'|'reconnecting'|'closed'} ConnectionState
 */

/** The ws:// or wss:// address of a path on this site. */
export function socketUrl(path) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${path}`;
}

/**
 * The signaling connection. Events (CustomEvent, the message in `detail`): `joined`, `member`,
 * `appointment`, `signal`, `network`, `ice`, `pong` (the round trip in ms), `closed` (the
 * reason), `error`, `state` (the ConnectionState).
 */
export class Connection extends EventTarget {
    /** @param {string} url */
    constructor(url) {
        super();
        this.url = url;
        /** @type {WebSocket|null} */
        this.socket = null;
        /** @type {ConnectionState} */
        this.state = 'connecting';
        /** @type {string|null} our session id, from the last joined */
        this.session = null;
        this.attempts = 0;
        this.final = false;
        /** @type {ReturnType<typeof setInterval>|undefined} */
        this.pinger = undefined;
        /** @type {ReturnType<typeof setTimeout>|undefined} */
        this.retry = undefined;
        /** @type {ReturnType<typeof setTimeout>|undefined} checks the unanswered ping */
        this.silence = undefined;
        /** @type {number|null} when the unanswered ping left */
        this.pingSentAt = null;
        /** when the oldest ping that nothing has answered since left (performance.now()) */
        this.unansweredSince = /** @type {number|null} */ (null);
        // Back online: no need to wait for the next attempt.
        globalThis.addEventListener?.('online', () => {
            if (this.state === 'reconnecting' && !this.socket) {
                clearTimeout(this.retry);
                this.connect();
            }
        });
    }

    /** How long to wait before the next attempt. @param {number} attempts */
    static retryDelay(attempts) {
        return Math.min(RETRY_MAX, RETRY_FIRST * 2 ** attempts) * (0.75 + Math.random() / 2);
    }

    /** @param {string} type @param {any} [detail] */
    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, {detail}));
    }

    connect() {
        this.final = false;
        this.setState(this.attempts ? 'reconnecting' : 'connecting');
        // Back under the same session: the others' peer connections to this page go on.
        const url = this.session ? `${this.url}?resume=${encodeURIComponent(this.session)}` : this.url;
        const socket = new WebSocket(url);
        this.socket = socket;
        socket.onopen = () => {
            this.answered();
            this.pinger = setInterval(() => this.ping(), PING_INTERVAL);
        };
        socket.onmessage = (event) => {
            // Anything from the server answers for the socket.
            this.answered();
            this.receive(event.data);
        };
        socket.onclose = (event) => this.lost(socket, event.code);
    }

    /**
     * The socket is gone: closed, or silent for too long. Reconnect unless it was for good.
     * @param {WebSocket} socket @param {number} code
     */
    lost(socket, code) {
        clearInterval(this.pinger);
        this.answered();
        if (this.socket !== socket) return;
        this.socket = null;
        if (this.final || FINAL_CLOSE_CODES.includes(code)) {
            if (!this.final) {
                this.final = true;
                // Without a "closed" message first: refused at the door (an error came before).
                this.emit('closed', {4403: 'forbidden', 4409: 'superseded'}[code] || 'refused');
            }
            this.setState('closed');
            return;
        }
        const delay = Connection.retryDelay(this.attempts);
        this.attempts += 1;
        this.setState('reconnecting');
        this.retry = setTimeout(() => this.connect(), delay);
    }

    /** Close for good, without reconnecting. */
    close() {
        this.final = true;
        clearTimeout(this.retry);
        clearInterval(this.pinger);
        this.answered();
        if (this.socket) this.socket.close(1000);
        this.setState('closed');
    }

    /** @param {ConnectionState} state */
    setState(state) {
        if (state === this.state) return;
        this.state = state;
        this.emit('state', state);
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

    /** @param {{camera?: boolean, microphone?: boolean, screen?: boolean, check?: Object,
     *           network?: Object}} status */
    sendStatus(status) { return this.send('status', status); }

    /**
     * @param {string} to the other connection's session
     * @param {{description?: Description, candidate?: Candidate}} payload
     */
    sendSignal(to, payload) { return this.send('signal', {to, ...payload}); }

    /** Ask for fresh ICE servers: the TURN credentials are about to expire. */
    refreshIce() { return this.send('ice_refresh'); }

    /** A ping; its pong tells the round trip to the server. */
    ping() {
        const socket = this.socket;
        const now = performance.now();
        if (this.silent(socket, now)) return;
        if (!this.send('ping')) return;
        this.pingSentAt = now;
        if (this.unansweredSince === null) {
            this.unansweredSince = now;
            this.silence = setTimeout(() => this.silent(socket, performance.now()), SILENCE_LIMIT);
        }
    }

    /** Something came from the server: the socket is alive. */
    answered() {
        this.unansweredSince = null;
        clearTimeout(this.silence);
    }

    /**
     * Give the socket up when a ping has had no answer for SILENCE_LIMIT: the other end is
     * gone although no close arrived. True when it was given up.
     * @param {WebSocket|null} socket @param {number} now
     */
    silent(socket, now) {
        if (!socket || socket !== this.socket || this.unansweredSince === null) return false;
        if (now - this.unansweredSince < SILENCE_LIMIT) return false;
        socket.onclose = null;
        socket.onmessage = null;
        try { socket.close(4000); } catch { /* already closing */ }
        this.lost(socket, 4000);
        return true;
    }

    /** @param {string} text */
    receive(text) {
        let message;
        try {
            message = JSON.parse(text);
        } catch {
            return;
        }
        if (!message || message.v !== VERSION || typeof message.type !== 'string') return;
        switch (message.type) {
        case 'joined':
            this.attempts = 0;
            this.session = message.session;
            this.setState('open');
            this.emit('joined', message);
            break;
        case 'pong':
            if (this.pingSentAt !== null) {
                const rttMs = performance.now() - this.pingSentAt;
                this.pingSentAt = null;
                this.emit('pong', rttMs);
            }
            break;
        case 'closed':
            this.final = true;
            this.emit('closed', message.reason);
            break;
        case 'ice':
            this.emit('ice', message.ice);
            break;
        case 'member':
        case 'appointment':
        case 'signal':
        case 'network':
        case 'error':
            this.emit(message.type, message);
            break;
        default:
            break;
        }
    }
}
