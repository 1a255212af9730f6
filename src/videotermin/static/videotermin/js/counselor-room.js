// The counselor's page: the live waiting list, admission, and the call. The counselor makes
// the offer to every admitted participant whose page is connected (docs/protocol.md).
import {Connection, socketUrl} from './protocol.js';
import {LocalMedia, Peer, closeAll, peers} from './call.js';
import {wireControls} from './controls.js';
import {wireScreenShare} from './share.js';
import {wireDevices} from './devices-in-call.js';
import {decimal, networkSummary} from './network.js';
import {wireQuality} from './quality-ui.js';
import {FreshIce, pageIceConfig} from './ice.js';

const root = /** @type {HTMLElement} */ (document.getElementById('room'));
const text = root.dataset;
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const config = pageIceConfig(text);
const media = new LocalMedia();
const connection = new Connection(socketUrl(/** @type {string} */ (text.ws)));
const freshIce = new FreshIce(connection, config, peers);
const ready = media.start();
/** @type {Record<string, string>} */
const words = {};
for (const el of $('words').content.querySelectorAll('[data-key]')) {
    words[el.dataset.key] = el.textContent.trim();
}
/** Peers by participant id; a participant's new session (a reload) replaces its peer. */
/** @type {Map<string, Peer>} */
const byParticipant = new Map();
/** @type {Map<string, string>} */
const presences = new Map();
let queue = Promise.resolve();

/** @param {string} [message] */
function say(message) { $('status').textContent = message || ''; }

/** @param {string} [message] */
function showError(message) {
    $('error').textContent = message || '';
    $('error').hidden = !message;
}

/** @param {string|undefined} template @param {string} name */
function fill(template, name) { return (template || '').replace('{name}', name); }

/** @param {'waiting'|'call'|'over'} view */
function show(view) {
    if (root.dataset.view === view) return;
    root.dataset.view = view;
    $('call').hidden = view !== 'call';
    for (const el of root.querySelectorAll('.in-call')) el.hidden = view !== 'call';
    if (view === 'over') {
        $('waiting').hidden = true;
        root.querySelector('.controls').hidden = true;
    }
}

/**
 * The participant's entry in the waiting list, created once and then updated in place, so
 * that a live update never takes the keyboard focus away from the Admit button.
 * @param {import('./protocol.js').RoomParticipant} p
 */
function participantItem(p) {
    let item = $('participants').querySelector(`[data-participant="${p.id}"]`);
    if (!item) {
        item = $('participant-template').content.firstElementChild.cloneNode(true);
        item.dataset.participant = p.id;
        const button = item.querySelector('.admit');
        button.addEventListener('click', () => {
            button.disabled = true;
            connection.admit(p.id);
        });
    }
    item.querySelector('.name').textContent = p.name;
    item.querySelector('.presence').textContent = `(${words[p.presence] || p.presence})`;
    item.querySelector('.light').className = `light ${p.check || 'none'}`;
    item.querySelector('.check').textContent = words[p.check || 'none'];
    item.querySelector('.browser').textContent =
        [p.browser, p.os].filter(Boolean).join(' / ') || words.unknown;
    item.querySelector('.network').textContent =
        networkSummary(p.checkDetails, words) || words['net-none'];
    const since = item.querySelector('.since');
    since.dateTime = p.waitingSince || '';
    since.textContent = p.waitingSince
        ? new Date(p.waitingSince).toLocaleTimeString(document.documentElement.lang,
            {hour: '2-digit', minute: '2-digit'})
        : '';
    item.querySelector('.camera').textContent = p.camera ? words.on : words.off;
    item.querySelector('.microphone').textContent = p.microphone ? words.on : words.off;
    const admit = item.querySelector('.admit');
    if (p.presence !== 'waiting') admit.disabled = false;
    admit.hidden = p.presence !== 'waiting';
    // The live round trip is the waiting room's; in the call the network panel shows more.
    if (p.presence !== 'waiting') for (const el of item.querySelectorAll('.live')) el.hidden = true;
    return item;
}

/** @param {import('./quality.js').NetworkMessage} message */
function showWaitingNetwork(message) {
    const item = $('participants').querySelector(`[data-participant="${message.participant}"]`);
    const rtt = message.network.rttMs;
    if (!item || rtt === null) return;
    for (const el of item.querySelectorAll('.live')) el.hidden = false;
    item.querySelector('dd.live').textContent =
        (words['net-live'] || '{n}').replace('{n}', decimal(rtt, 0));
}

/** @param {HTMLElement[]} items the entries in order; others leave, nothing else moves */
function showParticipants(items) {
    const list = $('participants');
    for (const child of [...list.children]) if (!items.includes(child)) child.remove();
    items.forEach((item, index) => {
        if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
}

/** @param {import('./protocol.js').RoomParticipant} p */
async function connectTo(p) {
    await ready;
    const session = /** @type {string} */ (p.session);
    const old = byParticipant.get(p.id);
    if (old && old.remote === session) return;
    if (old) dropPeer(p.id);
    const peer = new Peer(connection, session, config);
    byParticipant.set(p.id, peer);
    peer.addLocalStream(media.stream);
    const video = document.createElement('video');
    video.className = 'remote-video';
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.session = session;
    video.setAttribute('aria-label', p.name);
    $('remotes').append(video);
    peer.onRemoteStream = (stream) => {
        if (video.srcObject === stream) return;
        video.srcObject = stream;
        video.play().catch(() => {
            video.muted = true;
            video.play().catch(() => {});
        });
    };
    peer.onConnectionState = (state) => {
        if (state === 'connected') say(text.msgConnected);
        else if (state === 'failed' || state === 'disconnected') say(text.msgCallLost);
    };
    await peer.makeOffer();
}

/** @param {string} id */
function dropPeer(id) {
    const peer = byParticipant.get(id);
    if (!peer) return;
    peer.close();
    byParticipant.delete(id);
    const video = $('remotes').querySelector(`video[data-session="${peer.remote}"]`);
    if (video) video.remove();
}

/** @param {import('./protocol.js').Room} room */
function gotRoom(room) {
    screen.gotRoom(room, null);
    showParticipants(room.participants.filter((p) => p.presence !== 'in_call')
        .map(participantItem));
    $('nobody').hidden = room.participants.some((p) => p.presence === 'waiting');
    for (const p of room.participants) {
        const before = presences.get(p.id);
        if (before !== undefined && before !== p.presence) {
            if (p.presence === 'waiting') say(fill(text.msgIsWaiting, p.name));
            else if (p.presence === 'left') say(fill(text.msgHasLeft, p.name));
            else if (p.presence === 'away') say(fill(text.msgIsAway, p.name));
        } else if (before === undefined && p.presence === 'waiting') {
            say(fill(text.msgIsWaiting, p.name));
        }
        presences.set(p.id, p.presence);
        if (p.session) {
            const target = p;
            queue = queue.then(() => connectTo(target)).catch((error) => console.warn(error));
        } else {
            dropPeer(p.id);
        }
    }
    if (room.appointment.callStarted && !room.appointment.callEnded) show('call');
    const checked = room.appointment.identityChecked;
    $('identity').setAttribute('aria-pressed', String(checked));
    $('identity').disabled = checked;
    $('identity-done').hidden = !checked;
}

connection.onStateChange = (state) => {
    if (state === 'connecting') say(text.msgConnecting);
    else if (state === 'reconnecting') say(text.msgReconnecting);
};
connection.onWelcome = (welcome) => {
    freshIce.take(welcome.ice);
    showError();
};
connection.onRoom = gotRoom;
connection.onSignal = (signal) => {
    queue = queue.then(async () => {
        const peer = [...byParticipant.values()].find((p) => p.remote === signal.from);
        if (!peer) return;
        if (signal.description) await peer.handleDescription(signal.description);
        else if (signal.candidate) await peer.handleCandidate(signal.candidate);
    }).catch((error) => console.warn(error));
};
connection.onError = (error) => {
    showError(error.message);
    // A refused admission may be tried again.
    if (error.ref === 'admit') {
        for (const button of $('participants').querySelectorAll('.admit')) button.disabled = false;
    }
};
connection.onClosed = (reason) => {
    freshIce.stop();
    screen.share.stop();
    closeAll();
    byParticipant.clear();
    media.stop();
    show('over');
    const message = {ended: text.msgEnded, superseded: text.msgSuperseded,
        cancelled: text.msgCancelled}[reason];
    if (message) say(message);
};

const screen = wireScreenShare({connection, counselor: true});
wireDevices({media, ready});
wireControls({
    media, connection, ready, fullscreenTarget: $('call'),
    onNoDevices: () => showError(text.msgNoDevices),
});
wireQuality({connection, media, ready, role: 'counselor'});
// Samples of a participant not in the call yet: the live round trip in her waiting-list entry.
const networkInCall = connection.onNetwork;
connection.onNetwork = (message) => {
    if (peers.has(message.session)) networkInCall(message);
    else showWaitingNetwork(message);
};
$('identity').addEventListener('click', () => connection.confirmIdentity());
$('end').addEventListener('click', () => {
    if (confirm(/** @type {string} */ (text.msgConfirmEnd))) connection.end();
});
$('hangup').addEventListener('click', () => {
    if (!confirm(/** @type {string} */ (text.msgConfirmHangup))) return;
    // Leave without ending: the counselor's "leave" would end the consultation on the server.
    screen.share.stop();
    connection.close();
    closeAll();
    byParticipant.clear();
    media.stop();
    show('over');
    say(text.msgLeft);
});

connection.connect();
