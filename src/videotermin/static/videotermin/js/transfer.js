// Documents over each peer's pre-negotiated "files" data channel (id 1, docs/protocol.md),
// browser to browser and never through the server: a JSON header, binary chunks paced by the
// channel's buffer, a JSON end marker. Both sides check the kind and size of every document, and
// the receiver keeps nothing from a member the host has not allowed to send documents.

export const CHUNK_BYTES = 16 * 1024;
const READ_BYTES = 256 * 1024;
const HIGH_WATER = 1024 * 1024;

/** Allowed documents by extension, with the MIME types a browser may report; the first is used. */
/** @type {Record<string, string[]>} */
export const TYPES = {
    pdf: ['application/pdf'],
    png: ['image/png'],
    jpg: ['image/jpeg'],
    jpeg: ['image/jpeg'],
    gif: ['image/gif'],
    webp: ['image/webp'],
    doc: ['application/msword'],
    docx: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    xls: ['application/vnd.ms-excel'],
    xlsx: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    ppt: ['application/vnd.ms-powerpoint'],
    pptx: ['application/vnd.openxmlformats-officedocument.presentationml.presentation'],
    odt: ['application/vnd.oasis.opendocument.text'],
    ods: ['application/vnd.oasis.opendocument.spreadsheet'],
    odp: ['application/vnd.oasis.opendocument.presentation'],
    txt: ['text/plain'],
    rtf: ['application/rtf', 'text/rtf'],
};

/**
 * The MIME type to store the document as, or null when its kind is not allowed. The extension
 * decides; a reported type must fit it (browsers report none for some office formats).
 * @param {string} name @param {string} type
 */
export function documentType(name, type) {
    const match = /\.([a-z0-9]+)$/i.exec(name);
    const extension = match ? match[1].toLowerCase() : '';
    if (!Object.hasOwn(TYPES, extension)) return null;
    const types = TYPES[extension];
    if (type && !types.includes(type.toLowerCase())) return null;
    return types[0];
}

/** A file name without folders or control characters, at most 200 characters, extension kept. */
/** @param {string} name */
export function safeName(name) {
    // eslint-disable-next-line no-control-regex
    return name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(-200);
}

/**
 * @typedef {{
 *   item: HTMLElement, progress: HTMLProgressElement, state: HTMLElement,
 *   cancel: HTMLButtonElement,
 * }} Row
 * @typedef {{id: string, file: File, type: string, cancelled: boolean, row: Row}} Outgoing
 * @typedef {{
 *   id: string, name: string, type: string, size: number, received: number,
 *   chunks: ArrayBuffer[], row: Row,
 * }} Incoming
 */

/**
 * Let the page send and receive documents, to everybody or to one member.
 * @param {{
 *   session: import('./mesh.js').MeshSession,
 *   input: HTMLInputElement, error: HTMLElement, maxBytes: number,
 *   messages: {forbiddenType: string, tooLarge: string, refused: string},
 *   words: Record<string, string>,
 *   label: (member: string) => string,
 *   you: () => string,
 *   addToLog: (item: HTMLElement) => void,
 *   recipient: () => string|null,
 *   allowed: (member: string) => boolean,
 *   mine: () => boolean,
 *   onIncoming: (sender: string) => void,
 * }} options
 */
export function wireDocuments({session, input, error, maxBytes, messages, words, label, you,
    addToLog, recipient, allowed, mine, onIncoming}) {
    /** @type {Map<string, Outgoing & {to: string|null}>} */
    const outgoing = new Map();
    /** @type {(Outgoing & {to: string|null})[]} one document after the other */
    const queue = [];
    let sending = false;
    /** @type {(() => void)[]} who waits for a channel to open */
    const waiters = [];
    /** @type {WeakMap<RTCDataChannel, {incoming: Incoming|null}>} what each channel receives */
    const receiving = new WeakMap();
    /** @type {Set<{channel: RTCDataChannel, member: string, state: {incoming: Incoming|null}}>}
     * the open channels that can receive, and from whom: what a revocation stops */
    const senders = new Set();

    /** @param {string} [message] */
    function showError(message) {
        error.textContent = message || '';
        error.hidden = !message;
    }

    /** @param {string} who @param {string} name @param {number} size */
    function newRow(who, name, size) {
        const item = document.createElement('li');
        item.className = 'chat-message transfer';
        const whoEl = document.createElement('span');
        whoEl.className = 'who';
        whoEl.dir = 'auto';
        whoEl.textContent = who;
        const nameEl = document.createElement('span');
        nameEl.className = 'document-name';
        nameEl.dir = 'auto';
        nameEl.textContent = name;
        const progress = document.createElement('progress');
        progress.max = Math.max(size, 1);
        progress.value = 0;
        progress.setAttribute('aria-label', name);
        const state = document.createElement('span');
        state.className = 'document-state';
        const cancel = document.createElement('button');
        cancel.type = 'button';
        cancel.className = 'secondary';
        cancel.textContent = words.cancel;
        const line = document.createElement('p');
        line.className = 'text';
        line.append(nameEl, ' ', state);
        const actions = document.createElement('p');
        actions.className = 'document-actions';
        actions.append(progress, cancel);
        item.append(whoEl, line, actions);
        addToLog(item);
        return {item, progress, state, cancel};
    }

    /** @param {Row} row @param {string} state */
    function finish(row, state) {
        row.state.textContent = state;
        row.cancel.remove();
        if (state !== words.sent && state !== words.received) row.progress.remove();
    }

    /** @param {string|null} to */
    const openPeers = (to) => session.connections()
        .filter((peer) => (to === null || peer.member === to) && !peer.closed
            && peer.files.readyState === 'open');

    /**
     * The peers with an open channel, once there is one; none when the transfer is cancelled.
     * @param {Outgoing & {to: string|null}} transfer @returns {Promise<any[]>}
     */
    async function peersWhenOpen(transfer) {
        for (;;) {
            const open = openPeers(transfer.to);
            if (open.length || transfer.cancelled) return transfer.cancelled ? [] : open;
            await new Promise((resolve) => waiters.push(() => resolve(undefined)));
        }
    }

    /** @param {RTCDataChannel} channel */
    const drained = (channel) => new Promise((resolve) => {
        channel.addEventListener('bufferedamountlow', resolve, {once: true});
        channel.addEventListener('close', resolve, {once: true});
    });

    /** @param {any} peer @param {Outgoing & {declined: Set<string>}} transfer */
    async function sendOver(peer, transfer) {
        const {id, file, type, row} = transfer;
        /** @type {RTCDataChannel} */
        const channel = peer.files;
        // One of several recipients said no: the others still get it.
        const stopped = () => transfer.cancelled || transfer.declined.has(peer.member);
        channel.send(JSON.stringify({v: 1, type: 'file', id, name: safeName(file.name),
            size: file.size, mime: type}));
        let offset = 0;
        while (offset < file.size) {
            const block = await file.slice(offset, offset + READ_BYTES).arrayBuffer();
            for (let start = 0; start < block.byteLength; start += CHUNK_BYTES) {
                if (stopped()) return;
                if (channel.readyState !== 'open') throw new Error('channel closed');
                if (channel.bufferedAmount > HIGH_WATER) await drained(channel);
                if (channel.readyState !== 'open') throw new Error('channel closed');
                channel.send(block.slice(start, start + CHUNK_BYTES));
            }
            offset += block.byteLength;
            row.progress.value = offset;
        }
        channel.send(JSON.stringify({v: 1, type: 'end', id}));
        // "Sent" only once the channel has handed everything over.
        while (channel.bufferedAmount > 0 && channel.readyState === 'open' && !stopped()) {
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
    }

    async function pump() {
        if (sending) return;
        sending = true;
        try {
            for (let transfer = queue.shift(); transfer; transfer = queue.shift()) {
                if (transfer.cancelled) continue;
                try {
                    const peers = await peersWhenOpen(transfer);
                    if (transfer.cancelled) continue;
                    transfer.row.state.textContent = words.sending;
                    for (const peer of peers) await sendOver(peer, transfer);
                    if (!transfer.cancelled) finish(transfer.row, words.sent);
                } catch (failure) {
                    console.warn('document transfer', failure);
                    finish(transfer.row, words.failed);
                }
                outgoing.delete(transfer.id);
            }
        } finally {
            sending = false;
        }
    }

    /** @param {Outgoing & {to: string|null}} transfer */
    function cancelOutgoing(transfer) {
        if (transfer.cancelled) return;
        transfer.cancelled = true;
        finish(transfer.row, words.cancelled);
        for (const peer of openPeers(transfer.to)) {
            peer.files.send(JSON.stringify({v: 1, type: 'cancel', id: transfer.id}));
        }
        waiters.splice(0).forEach((wake) => wake());
    }

    input.addEventListener('change', () => {
        const file = input.files && input.files[0];
        input.value = '';
        if (!file) return;
        const type = documentType(file.name, file.type);
        if (!type) {
            showError(messages.forbiddenType);
            return;
        }
        if (file.size > maxBytes) {
            showError(messages.tooLarge);
            return;
        }
        showError();
        const id = crypto.randomUUID();
        const to = recipient();
        const who = to ? `${you()} → ${label(to)}` : you();
        const row = newRow(who, safeName(file.name), file.size);
        row.state.textContent = words.waiting;
        const transfer = {id, file, type, cancelled: false, declined: new Set(), row, to};
        row.cancel.addEventListener('click', () => cancelOutgoing(transfer));
        outgoing.set(id, transfer);
        queue.push(transfer);
        pump();
    });

    /**
     * @param {RTCDataChannel} channel @param {string} member who is at its other end
     * @param {{incoming: Incoming|null}} state
     */
    function receive(channel, member, state, /** @type {any} */ data) {
        /** @param {string} result */
        const stop = (result) => {
            if (!state.incoming) return;
            finish(state.incoming.row, result);
            state.incoming = null;
        };
        if (data instanceof ArrayBuffer) {
            const incoming = state.incoming;
            if (!incoming) return; // after a cancel or a refusal: the rest of that document
            incoming.received += data.byteLength;
            if (incoming.received > incoming.size) {
                channel.send(JSON.stringify({v: 1, type: 'cancel', id: incoming.id}));
                stop(words.failed);
                return;
            }
            incoming.chunks.push(data);
            incoming.row.progress.value = incoming.received;
            return;
        }
        let message;
        try {
            message = JSON.parse(data);
        } catch {
            return;
        }
        if (!message || message.v !== 1) return;
        if (message.type === 'file') {
            stop(words.failed);
            const {id, name, size, mime} = message;
            if (typeof id !== 'string' || id.length > 64) return;
            const type = typeof name === 'string' && typeof mime === 'string'
                ? documentType(name, mime) : null;
            if (!allowed(member) || !type || !Number.isSafeInteger(size) || size < 0
                || size > maxBytes) {
                // Refused before a single byte is kept; the sender stops.
                channel.send(JSON.stringify({v: 1, type: 'cancel', id}));
                const item = document.createElement('li');
                item.className = 'chat-message notice';
                item.textContent = messages.refused;
                addToLog(item);
                return;
            }
            const sender = label(member);
            const current = {id, name: safeName(name), type, size, received: 0,
                chunks: /** @type {ArrayBuffer[]} */ ([]), row: newRow(sender, safeName(name), size)};
            current.row.state.textContent = words.receiving;
            current.row.cancel.addEventListener('click', () => {
                if (state.incoming !== current) return;
                channel.send(JSON.stringify({v: 1, type: 'cancel', id}));
                stop(words.cancelled);
            });
            state.incoming = current;
            onIncoming(sender);
        } else if (message.type === 'end') {
            const done = state.incoming;
            if (!done || done.id !== message.id) return;
            if (done.received !== done.size) {
                stop(words.failed);
                return;
            }
            const link = document.createElement('a');
            link.href = URL.createObjectURL(new Blob(done.chunks, {type: done.type}));
            link.download = done.name;
            link.className = 'button save';
            link.textContent = words.save;
            stop(words.received);
            done.row.item.append(link);
        } else if (message.type === 'cancel') {
            if (state.incoming && state.incoming.id === message.id) stop(words.cancelled);
            const transfer = outgoing.get(message.id);
            if (transfer && !transfer.cancelled && transfer.to === member) {
                transfer.cancelled = true;
                finish(transfer.row, words.cancelled);
            } else if (transfer && transfer.to === null) {
                // A document to everybody: this one recipient declined, the others go on.
                transfer.declined.add(member);
            }
        }
    }

    /** @param {RTCDataChannel} channel @param {string} member */
    function stateOf(channel, member) {
        let state = receiving.get(channel);
        if (!state) {
            state = {incoming: null};
            receiving.set(channel, state);
            const entry = {channel, member, state};
            senders.add(entry);
            channel.addEventListener('close', () => {
                if (entry.state.incoming) finish(entry.state.incoming.row, words.failed);
                entry.state.incoming = null;
                senders.delete(entry);
            });
        }
        return state;
    }

    /** @param {{member: string, channel: string, data: any, peer: any}} message */
    function gotMessage({member, channel, data, peer}) {
        if (channel !== 'files') return;
        receive(peer.files, member, stateOf(peer.files, member), data);
    }

    /** The host changed what somebody may do: a revoked permission stops what is under way. */
    function recheck() {
        if (!mine()) {
            for (const transfer of outgoing.values()) cancelOutgoing(transfer);
            queue.splice(0);
        }
        for (const {channel, member, state} of senders) {
            const incoming = state.incoming;
            if (!incoming || allowed(member)) continue;
            if (channel.readyState === 'open') {
                channel.send(JSON.stringify({v: 1, type: 'cancel', id: incoming.id}));
            }
            finish(incoming.row, words.cancelled);
            state.incoming = null;
        }
    }

    session.addEventListener('message', (event) => gotMessage(/** @type {CustomEvent} */ (event).detail));
    /** @param {import('./mesh.js').Peer} peer */
    const wakeWhenOpen = (peer) => peer.files.addEventListener('open',
        () => waiters.splice(0).forEach((wake) => wake()));
    session.connections().forEach(wakeWhenOpen);
    session.addEventListener('peer', (event) => wakeWhenOpen(/** @type {CustomEvent} */ (event).detail));
    return {gotMessage, recheck};
}
