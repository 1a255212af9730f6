// Chat over each peer's pre-negotiated "chat" data channel (id 0, docs/protocol.md): plain text
// both ways, browser to browser, never through the server and never stored. This module is also
// the entry of the room pages' chat and documents panel (calls/_chat.html).
import {peerListeners, peers} from './call.js';
import {wireDocuments} from './transfer.js';

/** The longest message, in UTF-16 code units as the textarea's maxlength counts them. */
export const MAX_LENGTH = 2000;
const MAX_NAME = 200;

/** @typedef {import('./call.js').Peer} Peer */
/** @typedef {{v: 1, type: 'message', text: string, from: string, role: string}} ChatMessage */

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
    const {text, from, role} = message;
    if (typeof text !== 'string' || !text.trim() || text.length > MAX_LENGTH) return null;
    return {
        v: 1, type: 'message', text,
        from: typeof from === 'string' ? from.slice(0, MAX_NAME) : '',
        role: typeof role === 'string' ? role.slice(0, 40) : '',
    };
}

/**
 * Replace {key} in a translated template.
 * @param {string|undefined} template @param {Record<string, string|number>} values
 */
export function fill(template, values) {
    return (template || '').replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
}

/** Messages for channels not open yet; the outbox holds those sent while there is no peer. */
/** @type {WeakMap<RTCDataChannel, string[]>} */
const pending = new WeakMap();
/** @type {string[]} */
const outbox = [];

/** @param {Peer} peer */
function usable(peer) {
    const state = peer.chat.readyState;
    return peer.pc.signalingState !== 'closed' && (state === 'open' || state === 'connecting');
}

/** Send to every peer now, or as soon as its channel opens; nothing is lost meanwhile. */
/** @param {string} data */
function deliver(data) {
    const targets = [...peers.values()].filter(usable);
    if (!targets.length) outbox.push(data);
    for (const peer of targets) {
        if (peer.chat.readyState === 'open') peer.chat.send(data);
        else /** @type {string[]} */ (pending.get(peer.chat)).push(data);
    }
}

/** @param {HTMLElement} root the chat section of calls/_chat.html */
function wirePanel(root) {
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    const text = root.dataset;
    const toggle = $('chat-toggle');
    const panel = $('chat-panel');
    const log = $('chat-log');
    const form = $('chat-form');
    const input = $('chat-input');
    const badge = $('chat-unread');
    /** @type {Record<string, string>} */
    const words = {};
    for (const el of $('chat-words').content.querySelectorAll('[data-key]')) {
        words[el.dataset.key] = el.textContent.trim();
    }
    const self = {name: text.selfName || '', role: text.selfRole || ''};
    let unread = 0;

    /** @param {string} name @param {string} role */
    const label = (name, role) => {
        const roleName = words[role] || '';
        if (!name) return roleName;
        return roleName ? `${name} (${roleName})` : name;
    };
    const isOpen = () => toggle.getAttribute('aria-expanded') === 'true';

    function showUnread() {
        badge.hidden = unread === 0;
        badge.querySelector('.count').textContent = String(unread);
        badge.querySelector('.label').textContent = ` ${fill(text.msgUnread, {count: unread})}`;
    }

    /** Count what arrives unseen; announce it while the log itself is hidden. */
    /** @param {string} announcement */
    function notice(announcement) {
        if (isOpen() && !document.hidden) return;
        unread += 1;
        showUnread();
        if (!isOpen()) $('chat-announce').textContent = announcement;
    }

    /** @param {boolean} open */
    function setOpen(open) {
        toggle.setAttribute('aria-expanded', String(open));
        panel.hidden = !open;
        if (open) {
            unread = 0;
            showUnread();
            log.scrollTop = log.scrollHeight;
            input.focus();
        }
    }

    /** @param {HTMLElement} item */
    function addToLog(item) {
        log.append(item);
        log.scrollTop = log.scrollHeight;
    }

    /** @param {ChatMessage} message @param {boolean} own */
    function showMessage(message, own) {
        const item = document.createElement('li');
        item.className = own ? 'chat-message own' : 'chat-message';
        const who = document.createElement('span');
        who.className = 'who';
        who.textContent = own ? words.you : label(message.from, message.role);
        const now = new Date();
        const time = document.createElement('time');
        time.dateTime = now.toISOString();
        time.textContent = now.toLocaleTimeString(document.documentElement.lang,
            {hour: '2-digit', minute: '2-digit'});
        const body = document.createElement('p');
        body.className = 'text';
        body.append(...linkify(message.text));
        item.append(who, ' ', time, body);
        addToLog(item);
    }

    /** @param {string} [message] */
    function showError(message) {
        $('chat-error').textContent = message || '';
        $('chat-error').hidden = !message;
    }

    peerListeners.add((peer) => {
        const channel = peer.chat;
        pending.set(channel, []);
        channel.addEventListener('open', () => {
            const waiting = /** @type {string[]} */ (pending.get(channel));
            for (const data of [...waiting.splice(0), ...outbox.splice(0)]) channel.send(data);
        });
        channel.addEventListener('close', () => {
            // Not delivered here: keep it for the next connection (a reload of the other side).
            outbox.push(.../** @type {string[]} */ (pending.get(channel)).splice(0));
        });
        channel.addEventListener('message', (event) => {
            const message = parseMessage(event.data);
            if (!message) return;
            showMessage(message, false);
            notice(fill(text.msgNewMessage, {name: label(message.from, message.role)}));
        });
    });

    form.addEventListener('submit', (/** @type {Event} */ event) => {
        event.preventDefault();
        const value = input.value;
        if (!value.trim()) return;
        if (value.length > MAX_LENGTH) {
            showError(fill(text.msgTooLong, {max: MAX_LENGTH}));
            return;
        }
        showError();
        /** @type {ChatMessage} */
        const message = {v: 1, type: 'message', text: value, from: self.name, role: self.role};
        deliver(JSON.stringify(message));
        showMessage(message, true);
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
    toggle.addEventListener('click', () => setOpen(!isOpen()));
    panel.addEventListener('keydown', (/** @type {KeyboardEvent} */ event) => {
        if (event.key !== 'Escape') return;
        setOpen(false);
        toggle.focus();
    });
    document.addEventListener('visibilitychange', () => {
        if (!document.hidden && isOpen()) {
            unread = 0;
            showUnread();
        }
    });

    wireDocuments({
        input: $('document-input'),
        error: $('document-error'),
        maxBytes: Number(text.maxDocumentMb || 25) * 1024 * 1024,
        messages: {forbiddenType: text.msgForbiddenType || '', tooLarge: text.msgTooLarge || '',
            refused: text.msgRefused || ''},
        words, self, label, addToLog,
        onIncoming: (name) => notice(fill(text.msgNewDocument, {name})),
    });
}

const root = document.getElementById('chat');
if (root) wirePanel(root);
