// Chat over each peer's pre-negotiated "chat" data channel (id 0, docs/protocol.md): plain text
// to everybody or to one member, browser to browser, never through the server and never stored.
// The room page loads this module (and the documents, transfer.js) when the chat panel is first
// opened or the first message arrives. The sender shown is the member the server says is at the
// other end of the peer connection, never a name the message claims.
import {wireDocuments} from './transfer.js';

/** The longest message, in UTF-16 code units as the textarea's maxlength counts them. */
export const MAX_LENGTH = 2000;

/** @typedef {{v: 1, type: 'message', text: string, private?: boolean}} ChatMessage */
/** @typedef {{member: string, channel: string, data: any, peer: any}} ChannelMessage */

/**
 * The text as DOM nodes: http(s) addresses become links that open in a new tab without access
 * to this page; everything else stays inert text (markup is shown, never run).
 * @param {string} text
 * @returns {Node[]}
 */
export function linkify(text) {
    /** @type {Node[]} */
    const nodes = [];
    let done = 0;
    for (const match of text.matchAll(/https?:\/\/[^\s<>"]+/gi)) {
        let address = match[0].replace(/[.,;:!?'"]+$/, '');
        if (address.endsWith(')') && !address.includes('(')) address = address.slice(0, -1);
        /** @type {URL|null} */
        let url = null;
        try {
            url = new URL(address);
        } catch {
            url = null;
        }
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) continue;
        const start = /** @type {number} */ (match.index);
        if (start > done) nodes.push(document.createTextNode(text.slice(done, start)));
        const link = document.createElement('a');
        link.href = url.href;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        link.textContent = address;
        nodes.push(link);
        done = start + address.length;
    }
    if (done < text.length) nodes.push(document.createTextNode(text.slice(done)));
    return nodes;
}

/**
 * A chat message from the other side, or null when it is not one or breaks the limits.
 * @param {unknown} data
 * @returns {ChatMessage|null}
 */
export function parseMessage(data) {
    if (typeof data !== 'string' || data.length > 8 * MAX_LENGTH) return null;
    let message;
    try {
        message = JSON.parse(data);
    } catch {
        return null;
    }
    if (!message || message.v !== 1 || message.type !== 'message') return null;
    const {text} = message;
    if (typeof text !== 'string' || !text.trim() || text.length > MAX_LENGTH) return null;
    return {v: 1, type: 'message', text, private: message.private === true};
}

/**
 * Replace {key} in a translated template.
 * @param {string|undefined} template @param {Record<string, string|number>} values
 */
export function fill(template, values) {
    return (template || '').replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
}

/**
 * Wire the chat and documents panel (calls/_chat.html).
 * @param {{
 *   room: import('./room.js').Room,
 *   session: import('./mesh.js').MeshSession,
 *   words: Record<string, string>,
 *   early: ChannelMessage[],
 *   isOpen: () => boolean,
 *   onUnread: (count: number, announcement: string) => void,
 * }} options
 */
export function wireChat({room, session, words, early, isOpen, onUnread}) {
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    const root = $('chat');
    const text = root.dataset;
    const log = $('chat-log');
    const form = $('chat-form');
    const input = $('chat-input');
    const recipient = $('chat-to');
    /** Messages typed while nobody's channel is open yet: sent as soon as one opens. */
    /** @type {{data: string, to: string|null}[]} */
    const outbox = [];
    let unread = 0;

    /** @param {string} id a member's id @returns {string} name and role as the room knows them */
    const label = (id) => {
        const member = room.member(id);
        if (!member) return words['someone'] || '';
        const role = words[`role-${member.role}`] || '';
        return role ? `${member.name} (${role})` : member.name;
    };
    /** The own name as the room knows it, marked as one's own ("{name} (you)"). */
    const you = () => fill(words.you, {name: room.self ? room.self.name : ''});
    /** Whether the room allows that member to chat or send documents now. */
    const may = (/** @type {string} */ id, /** @type {'chat'|'documents'} */ what) => {
        const member = room.member(id);
        return !!member && member.may[what];
    };

    /** Count what arrives unseen; announce it while the log itself is hidden. */
    /** @param {string} announcement */
    function notice(announcement) {
        if (isOpen() && !document.hidden) return;
        unread += 1;
        onUnread(unread, isOpen() ? '' : announcement);
    }

    /** @param {HTMLElement} item */
    function addToLog(item) {
        log.append(item);
        log.scrollTop = log.scrollHeight;
    }

    /**
     * @param {ChatMessage} message @param {string|null} from a member's id; null: our own
     * @param {string|null} to our own message's recipient; null: everybody
     */
    function showMessage(message, from, to = null) {
        const item = document.createElement('li');
        item.className = from === null ? 'chat-message own' : 'chat-message';
        const who = document.createElement('span');
        who.className = 'who';
        who.dir = 'auto';
        who.textContent = from === null ? you() : label(from);
        const now = new Date();
        const time = document.createElement('time');
        time.dateTime = now.toISOString();
        time.textContent = now.toLocaleTimeString(document.documentElement.lang,
            {hour: '2-digit', minute: '2-digit'});
        item.append(who, ' ', time);
        if (message.private || to) {
            const note = document.createElement('span');
            note.className = 'private';
            note.textContent = to ? ` ${fill(words['private-to'], {name: label(to)})}`
                : ` ${words['private-from']}`;
            item.append(note);
        }
        const body = document.createElement('p');
        body.className = 'text';
        body.dir = 'auto';
        body.append(...linkify(message.text));
        item.append(body);
        addToLog(item);
    }

    /** @param {string} [message] */
    function showError(message) {
        $('chat-error').textContent = message || '';
        $('chat-error').hidden = !message;
    }

    /** @param {ChannelMessage} event */
    function gotMessage({member, channel, data}) {
        if (channel !== 'chat') return;
        const message = parseMessage(data);
        // Someone the host has not allowed to chat is not heard, whatever their page sends.
        if (!message || !may(member, 'chat')) return;
        showMessage(message, member);
        notice(fill(text.msgNewMessage, {name: label(member)}));
    }

    /** The recipients to choose from: everybody, or one member in the call. */
    function renderRecipients() {
        const chosen = recipient.value;
        const others = room.others();
        const options = [new Option(words.everybody, '')];
        for (const member of others) options.push(new Option(label(member.id), member.id));
        recipient.replaceChildren(...options);
        recipient.value = others.some((m) => m.id === chosen) ? chosen : '';
        $('chat-to-choice').hidden = others.length < 2;
    }

    function renderPermission() {
        const self = room.self;
        const allowed = !self || self.may.chat;
        form.hidden = !allowed;
        $('chat-off').hidden = allowed;
        const documents = !self || self.may.documents;
        $('documents').hidden = !documents;
        $('documents-off').hidden = documents;
    }

    /** @param {import('./mesh.js').Peer} peer */
    const flushWhenOpen = (peer) => peer.chat.addEventListener('open', () => {
        for (const queued of outbox.splice(0)) {
            if (session.send('chat', queued.data, queued.to) === 0) outbox.push(queued);
        }
    });
    session.connections().forEach(flushWhenOpen);
    session.addEventListener('peer', (event) => flushWhenOpen(/** @type {CustomEvent} */ (event).detail));
    session.addEventListener('message', (event) => gotMessage(
        /** @type {CustomEvent} */ (event).detail));
    for (const type of ['joined', 'member', 'self']) {
        room.addEventListener(type, () => {
            renderRecipients();
            renderPermission();
            documents.recheck();
        });
    }

    form.addEventListener('submit', (/** @type {Event} */ event) => {
        event.preventDefault();
        const value = input.value;
        if (!value.trim()) return;
        if (value.length > MAX_LENGTH) {
            showError(fill(text.msgTooLong, {max: MAX_LENGTH}));
            return;
        }
        showError();
        const to = recipient.value || null;
        /** @type {ChatMessage} */
        const message = {v: 1, type: 'message', text: value, ...(to ? {private: true} : {})};
        const data = JSON.stringify(message);
        if (session.send('chat', data, to) === 0) outbox.push({data, to});
        showMessage(message, null, to);
        input.value = '';
        input.focus();
    });
    input.addEventListener('keydown', (/** @type {KeyboardEvent} */ event) => {
        // Enter sends, Shift+Enter starts a new line; not while an input method composes.
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            form.requestSubmit();
        }
    });

    const documents = wireDocuments({
        session,
        input: $('document-input'),
        error: $('document-error'),
        maxBytes: Number(text.maxDocumentMb || 25) * 1024 * 1024,
        messages: {forbiddenType: text.msgForbiddenType || '', tooLarge: text.msgTooLarge || '',
            refused: text.msgRefused || ''},
        words, label, you, addToLog,
        recipient: () => recipient.value || null,
        allowed: (/** @type {string} */ member) => may(member, 'documents'),
        mine: () => !room.self || room.self.may.documents,
        onIncoming: (name) => notice(fill(text.msgNewDocument, {name})),
    });
    // Back to a tab with the chat open: what arrived meanwhile has been seen now.
    document.addEventListener('visibilitychange', () => {
        if (!document.hidden && isOpen()) seen();
    });
    renderRecipients();
    renderPermission();
    /** @type {HTMLFieldSetElement} */ ($('chat-controls')).disabled = false;
    // What arrived before this module was loaded, in order.
    for (const message of early.splice(0)) {
        gotMessage(message);
        documents.gotMessage(message);
    }

    /** The panel was opened (or its tab came back): what was unread is read now. */
    function seen() {
        unread = 0;
        onUnread(0, '');
        log.scrollTop = log.scrollHeight;
    }

    return {seen};
}
