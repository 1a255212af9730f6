// The room as this page knows it: who it is, the members and the appointment, from `joined`
// and the deltas after it (docs/protocol.md). No DOM here.

/** @typedef {import('./protocol.js').Member} Member */
/** @typedef {import('./protocol.js').Appointment} Appointment */

export const STAFF_ROLES = ['host', 'colleague'];

/**
 * Events: `joined` (a fresh picture after every connection), `member` ({op, member, before}),
 * `appointment`, `self` (the own member changed: presence, role, permissions).
 */
export class Room extends EventTarget {
    /** @param {import('./protocol.js').Connection} connection */
    constructor(connection) {
        super();
        /** @type {string|null} */
        this.selfId = null;
        /** @type {string|null} the own connection's session */
        this.session = null;
        /** @type {Map<string, Member>} by member id, in the order they came */
        this.members = new Map();
        /** @type {Appointment|null} */
        this.appointment = null;
        connection.addEventListener('joined', (event) => this.gotJoined(
            /** @type {CustomEvent} */ (event).detail));
        connection.addEventListener('member', (event) => this.gotMember(
            /** @type {CustomEvent} */ (event).detail));
        connection.addEventListener('appointment', (event) => {
            this.appointment = /** @type {CustomEvent} */ (event).detail.appointment;
            this.emit('appointment', this.appointment);
        });
    }

    /** @param {string} type @param {any} [detail] */
    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, {detail}));
    }

    /** @param {import('./protocol.js').Joined} message */
    gotJoined(message) {
        this.selfId = message.self.id;
        this.session = message.session;
        this.appointment = message.appointment;
        this.members = new Map(message.members.map((m) => [m.id, m]));
        this.emit('joined', message);
        this.emit('appointment', this.appointment);
        this.emit('self', this.self);
    }

    /** @param {import('./protocol.js').MemberDelta} delta */
    gotMember({op, member}) {
        const before = this.members.get(member.id) || null;
        if (op === 'left') this.members.delete(member.id);
        else this.members.set(member.id, member);
        this.emit('member', {op, member: op === 'left' ? before || member : member, before});
        if (member.id === this.selfId) this.emit('self', this.self);
    }

    /** @returns {Member|null} */
    get self() {
        return (this.selfId && this.members.get(this.selfId)) || null;
    }

    get isStaff() {
        const self = this.self;
        return !!self && STAFF_ROLES.includes(self.role);
    }

    get isHost() {
        const self = this.self;
        return !!self && self.role === 'host';
    }

    /** Whether the own page takes part in the call now (media may flow). */
    get inCall() {
        const self = this.self;
        return !!self && self.presence === 'in_call'
            && !!this.appointment && !this.appointment.callEnded;
    }

    /** The other members whose pages are in the call now, with their connection's session. */
    others() {
        return [...this.members.values()].filter((m) => m.id !== this.selfId
            && m.presence === 'in_call' && m.session);
    }

    /** @param {string} session @returns {Member|null} */
    bySession(session) {
        return [...this.members.values()].find((m) => m.session === session) || null;
    }

    /** @param {string} id @returns {Member|null} */
    member(id) {
        return this.members.get(id) || null;
    }
}
