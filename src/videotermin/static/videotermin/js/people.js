// The people panel: everyone in the consultation with their role and whether they are here; for
// the staff also the waiting list with the device check, and for the host the decisions: admit,
// identity checked, what each may do, remove, hand over. Entries are updated in place, so a live
// update never takes the keyboard focus away from a button.
import {STAFF_ROLES} from './room.js';
import {decimal, networkSummary} from './network.js';

/** @typedef {import('./protocol.js').Member} Member */

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const ORDER = {waiting: 0, in_call: 1, away: 2, left: 3};
// How long a member in the call may be without a connection before the others are told: a page
// reconnects within a few seconds (protocol.js), and its media never stopped.
const AWAY_GRACE = 8000;

/** @param {string|undefined} template @param {Record<string, string>} values */
const fill = (template, values) =>
    (template || '').replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));

/**
 * @param {{
 *   connection: import('./protocol.js').Connection,
 *   room: import('./room.js').Room,
 *   words: Record<string, string>,
 *   say: (message: string) => void,
 *   ask: (question: string) => Promise<boolean>,
 * }} options
 */
export function wirePeople({connection, room, words, say, ask}) {
    const list = $('people-list');
    /** @type {Map<string, HTMLElement>} */
    const items = new Map();

    /** @param {string} role */
    const roleName = (role) => words[`role-${role}`] || role;

    /** @param {HTMLElement} item @param {string} selector @param {() => void} action */
    function onClick(item, selector, action) {
        item.querySelector(selector).addEventListener('click', action);
    }

    /** @param {string} id @returns {HTMLElement} */
    function entry(id) {
        let item = items.get(id);
        if (item) return item;
        item = $('person-template').content.firstElementChild.cloneNode(true);
        const element = /** @type {HTMLElement} */ (item);
        element.dataset.member = id;
        const member = () => /** @type {Member} */ (room.member(id));
        onClick(element, '.admit', () => {
            element.querySelector('.admit').disabled = true;
            connection.send('admit', {member: id});
        });
        onClick(element, '.identity', () => connection.send('identity', {member: id}));
        for (const button of element.querySelectorAll('.permission')) {
            button.addEventListener('click', () => {
                const allowed = button.getAttribute('aria-pressed') !== 'true';
                connection.send('permissions', {member: id, [button.dataset.permission]: allowed});
            });
        }
        onClick(element, '.remove', async () => {
            const m = member();
            if (m && await ask(fill(words['confirm-remove'], {name: m.name}))) {
                connection.send('remove', {member: id});
            }
        });
        onClick(element, '.handover', async () => {
            const m = member();
            const own = room.self;
            const question = own && own.id === id ? words['confirm-takeover']
                : fill(words['confirm-handover'], {name: m ? m.name : ''});
            if (await ask(question || '')) connection.send('handover', {member: id});
        });
        items.set(id, element);
        return element;
    }

    /** @param {Member} m */
    function update(m) {
        const item = entry(m.id);
        const self = room.self;
        const own = !!self && self.id === m.id;
        const host = room.isHost;
        const staffView = room.isStaff;
        const external = !STAFF_ROLES.includes(m.role);
        item.dataset.presence = m.presence;
        item.querySelector('.name').textContent = own ? fill(words.you, {name: m.name}) : m.name;
        item.querySelector('.role').textContent = roleName(m.role);
        item.querySelector('.presence').textContent = words[`presence-${m.presence}`] || m.presence;
        // What only the staff see: the waiting list's facts (J9); in the call, the identity.
        const facts = item.querySelector('.facts');
        facts.hidden = !(staffView && external && m.presence === 'waiting');
        const identityNote = item.querySelector('.identity-note');
        identityNote.hidden = !(staffView && external && m.presence !== 'waiting');
        identityNote.textContent = m.identityChecked ? words['identity-checked-note']
            : words['identity-open-note'];
        // Consent withdrawn from the person's own link: gone for good, and the host sees why.
        const withdrawn = staffView && !!m.withdrawn;
        item.dataset.withdrawn = String(withdrawn);
        item.querySelector('.withdrawn-note').hidden = !withdrawn;
        item.querySelector('.withdrawn-note').textContent = withdrawn ? ` · ${words['consent-withdrawn']}` : '';
        if (withdrawn) identityNote.hidden = true;
        if (staffView && external) {
            item.querySelector('.light').className = `light ${m.check || 'none'}`;
            item.querySelector('.check').textContent = words[`check-${m.check || 'none'}`] || '';
            item.querySelector('.browser').textContent =
                [m.browser, m.os].filter(Boolean).join(' / ') || words.unknown;
            item.querySelector('.network').textContent =
                networkSummary(m.checkDetails, words) || words['net-none'];
            const since = item.querySelector('.since');
            since.dateTime = m.waitingSince || '';
            since.textContent = m.waitingSince
                ? new Date(m.waitingSince).toLocaleTimeString(document.documentElement.lang,
                    {hour: '2-digit', minute: '2-digit'})
                : '–';
            item.querySelector('.camera').textContent = m.camera ? words.on : words.off;
            item.querySelector('.microphone').textContent = m.microphone ? words.on : words.off;
            item.querySelector('.identity-state').textContent =
                m.identityChecked ? words['identity-done'] : words['identity-open'];
            if (m.presence !== 'waiting') for (const el of item.querySelectorAll('.live')) el.hidden = true;
        }
        const admit = item.querySelector('.admit');
        admit.hidden = !(host && m.presence === 'waiting');
        if (m.presence !== 'waiting') admit.disabled = false;
        const identity = item.querySelector('.identity');
        identity.hidden = !(host && external && m.presence === 'in_call' && !m.identityChecked);
        for (const button of item.querySelectorAll('.permission')) {
            const key = /** @type {'screen'|'documents'|'chat'} */ (button.dataset.permission);
            button.hidden = !(host && external && m.admitted && !withdrawn);
            button.setAttribute('aria-pressed', String(m.may[key]));
            button.textContent = fill(words[`may-${key}`], {name: m.name});
        }
        item.querySelector('.remove').hidden = !(host && !own && m.role !== 'host');
        // The host hands over to a colleague; a colleague takes over only from an absent host.
        const handover = item.querySelector('.handover');
        handover.hidden = !((host && m.role === 'colleague')
            || (m.role === 'colleague' && own && hostIsAway()));
        handover.textContent = own ? words['take-over'] : fill(words['hand-over'], {name: m.name});
        item.querySelector('.controls').hidden =
            [...item.querySelectorAll('.controls button')].every((b) => b.hidden);
    }

    /** Whether the host's page is gone: then a colleague may take over. */
    function hostIsAway() {
        const host = [...room.members.values()].find((m) => m.role === 'host');
        return !host || (!host.session && host.presence !== 'in_call');
    }

    /** Each member's presence as last shown (a fresh picture is compared with it). */
    /** @type {Map<string, string>} */
    let shownPresence = new Map();
    function render() {
        const members = [...room.members.values()].sort((a, b) =>
            (ORDER[a.presence] ?? 9) - (ORDER[b.presence] ?? 9)
            || (a.waitingSince || '').localeCompare(b.waitingSince || ''));
        for (const [id, item] of [...items]) {
            if (!room.members.has(id)) {
                item.remove();
                items.delete(id);
            }
        }
        members.forEach((m, index) => {
            update(m);
            const item = /** @type {HTMLElement} */ (items.get(m.id));
            if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
        });
        const waiting = members.filter((m) => m.presence === 'waiting').length;
        const badge = $('people-waiting');
        badge.hidden = !(room.isStaff && waiting);
        badge.querySelector('.count').textContent = String(waiting);
        badge.querySelector('.label').textContent = ` ${fill(words['waiting-count'], {count: String(waiting)})}`;
        const inCall = members.filter((m) => m.presence === 'in_call').length;
        $('people-count').textContent = room.inCall && inCall ? String(inCall) : '';
        shownPresence = new Map(members.map((m) => [m.id, m.presence]));
    }

    /** Members who lost their connection a moment ago: told only if they are not back soon. */
    /** @type {Map<string, ReturnType<typeof setTimeout>>} */
    const goingAway = new Map();
    /** @param {Member} member @param {string} message */
    function tell(member, message) {
        say(fill(words[message], {name: member.name, role: roleName(member.role)}));
    }
    /** @param {Member} member */
    function graceAway(member) {
        goingAway.set(member.id, setTimeout(() => {
            goingAway.delete(member.id);
            tell(member, 'msg-away');
        }, AWAY_GRACE));
    }
    room.addEventListener('member', (event) => {
        const {op, member, before} = /** @type {CustomEvent} */ (event).detail;
        if (member.id !== room.selfId) {
            const was = before ? before.presence : null;
            // Back within the grace (a node restarted, the network blinked): nothing happened
            // for the others, so nothing is said.
            const blinked = goingAway.has(member.id) && member.presence === 'in_call';
            clearTimeout(goingAway.get(member.id));
            goingAway.delete(member.id);
            if (op === 'left') say(fill(words['msg-removed'], {name: member.name}));
            else if (member.presence === 'away' && was === 'in_call') {
                graceAway(member);
            } else if (member.presence !== was && !blinked) {
                const message = member.withdrawn && member.presence === 'left' ? 'msg-withdrawn'
                    : {waiting: 'msg-waiting', in_call: 'msg-joined', left: 'msg-left',
                        away: 'msg-away'}[member.presence];
                if (message && (was !== null || member.presence === 'waiting' || member.presence === 'in_call')) {
                    tell(member, message);
                }
            } else if (before && before.role !== member.role && member.role === 'host') {
                say(fill(words['msg-new-host'], {name: member.name}));
            }
        }
        render();
    });
    room.addEventListener('joined', () => {
        // This page came back (its socket was lost, or Redis was): someone in the call a moment
        // ago and away in the fresh picture gets the same grace as in a change.
        for (const m of room.members.values()) {
            if (m.id !== room.selfId && m.presence === 'away'
                && shownPresence.get(m.id) === 'in_call' && !goingAway.has(m.id)) graceAway(m);
        }
        render();
        // Staff arriving in the room hear who is already waiting, as a new arrival would be told.
        if (!room.isStaff) return;
        const waiting = [...room.members.values()]
            .filter((m) => m.presence === 'waiting' && m.id !== room.selfId);
        say(waiting.map((m) => fill(words['msg-waiting'], {name: m.name, role: roleName(m.role)}))
            .join('. '));
    });
    room.addEventListener('self', render);
    connection.addEventListener('error', (event) => {
        // A refused admission may be tried again.
        if (/** @type {CustomEvent} */ (event).detail.ref === 'admit') {
            for (const button of list.querySelectorAll('.admit')) button.disabled = false;
        }
    });
    // A waiting person's live round trip to the server, until the call begins.
    connection.addEventListener('network', (event) => {
        const message = /** @type {CustomEvent} */ (event).detail;
        const member = room.member(message.member);
        const item = items.get(message.member);
        const rtt = message.network.rttMs;
        if (!member || !item || member.presence !== 'waiting' || rtt === null) return;
        for (const el of item.querySelectorAll('.live')) el.hidden = false;
        item.querySelector('dd.live').textContent = fill(words['net-live'], {n: decimal(rtt, 0)});
    });

    wireInvite({say});
    return {render};
}

/**
 * The staff's form to invite one more person during the call (S5), sent without leaving the room.
 * @param {{say: (message: string) => void}} options
 */
function wireInvite({say}) {
    const form = /** @type {HTMLFormElement|null} */ (document.getElementById('invite-form'));
    if (!form) return;
    const errors = $('invite-errors');
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const button = form.querySelector('button[type="submit"]');
        button.disabled = true;
        errors.replaceChildren();
        errors.hidden = true;
        try {
            const response = await fetch(form.action, {
                method: 'POST',
                body: new FormData(form),
                headers: {Accept: 'application/json'},
                credentials: 'same-origin',
            });
            const answer = await response.json();
            if (response.ok) {
                say(answer.message);
                form.reset();
            } else {
                for (const error of answer.errors || []) {
                    const item = document.createElement('li');
                    item.textContent = error;
                    errors.append(item);
                }
                errors.hidden = false;
            }
        } catch (error) {
            console.warn('invite', error);
            const item = document.createElement('li');
            item.textContent = form.dataset.msgFailed || '';
            errors.append(item);
            errors.hidden = false;
        } finally {
            button.disabled = false;
        }
    });
}
