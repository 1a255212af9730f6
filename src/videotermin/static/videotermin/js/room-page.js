// The consultation room, for every member: the waiting room for people invited by link, then
// the call stage with its control bar and panels. What a member may do comes from the server
// (`joined`, then the member's own deltas), so the host, a colleague and an interpreter all use
// this one page.
import {Connection, socketUrl} from './protocol.js';
import {Room} from './room.js';
import {LocalMedia} from './media.js';
import {MeshSession, peers} from './mesh.js';
import {FreshIce, pageIceConfig} from './ice.js';
import {wireStage} from './stage.js';
import {wirePeople} from './people.js';
import {wireScreenShare} from './share.js';
import {wireDevices} from './devices-in-call.js';
import {wireQuality} from './quality-ui.js';
import {announce} from './announce.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const root = /** @type {HTMLElement} */ ($('room'));
const data = root.dataset;
/** @type {Record<string, string>} */
const words = {};
for (const el of $('words').content.querySelectorAll('[data-key]')) {
    words[el.dataset.key] = el.textContent.trim();
}
/** Panels beside the stage from this width on; over it below. */
const WIDE = window.matchMedia('(min-width: 62rem)');

const config = pageIceConfig(data);
const media = new LocalMedia();
const ready = media.start();
const connection = new Connection(socketUrl(/** @type {string} */ (data.ws)));
const room = new Room(connection);
const session = new MeshSession({
    connection, room, ready, config,
    tracks: () => ({audio: media.track('audio'), camera: media.track('video'), screen: null}),
});
const freshIce = new FreshIce(connection, config, peers);
// Handles for support and the browser tests, like window.videoterminPeers.
/** @type {any} */ (globalThis).videoterminRoom = room;
/** @type {any} */ (globalThis).videoterminConnection = connection;

/** @param {string} [message] */
function say(message) { announce($('status'), message || ''); }

/** @param {string} [message] */
function showError(message) {
    $('error').textContent = message || '';
    $('error').hidden = !message;
}

/** Answers "no" to the question still waiting for its dialog's close, if any. */
/** @type {(() => void)|null} */
let unanswered = null;

/**
 * Ask a yes-or-no question in the page's own dialog; resolves with the answer.
 * @param {string} question @param {string} [yes] the label of the button that agrees
 * @returns {Promise<boolean>}
 */
function ask(question, yes = words.yes, no = words.no) {
    const dialog = $('ask');
    // The browser delivers a dialog's `close` event a moment after closing it: a question asked
    // again at once (Escape, then the same button) must not take the first one's close for its
    // own answer. The earlier question is "no", and a close while the dialog is open is old.
    unanswered?.();
    $('ask-text').textContent = question;
    $('ask-yes').textContent = yes;
    $('ask-no').textContent = no;
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise((resolve) => {
        const closed = () => {
            if (!dialog.open) answer(dialog.returnValue === 'yes');
        };
        const answer = (/** @type {boolean} */ agreed) => {
            dialog.removeEventListener('close', closed);
            unanswered = null;
            resolve(agreed);
        };
        unanswered = () => answer(false);
        dialog.addEventListener('close', closed);
    });
}

/** @param {'connecting'|'waiting'|'call'|'over'} view */
function show(view) {
    if (root.dataset.view === view) return;
    root.dataset.view = view;
    $('waiting').hidden = view !== 'waiting';
    $('stage').hidden = view === 'over' || view === 'connecting';
    $('over').hidden = view !== 'over';
    root.querySelector('.control-bar').hidden = view === 'over';
    $('open-chat').hidden = view !== 'call';
    if (view === 'over') closePanels();
    stage.render();
}

/** @param {string} title @param {string} [text] @param {boolean} [rejoin] */
function over(title, text = '', rejoin = false) {
    freshIce.stop();
    screen.stop();
    session.close();
    media.stop();
    show('over');
    $('over-title').textContent = title;
    $('over-text').textContent = text;
    const link = $('rejoin');
    link.hidden = !rejoin;
    link.href = location.href;
    say();
}

function goToSurvey() {
    media.stop();
    location.assign(/** @type {string} */ (data.surveyUrl));
}

// Panels: people, chat, settings. One at a time; beside the stage on a wide screen, over it on
// a phone. Escape or "Close" gives the focus back to the button that opened it.
/** @type {string|null} */
let openPanel = null;

/** @param {string|null} name */
function setPanel(name) {
    for (const panel of ['people', 'chat', 'settings']) {
        const open = panel === name;
        $(`panel-${panel}`).hidden = !open;
        $(`open-${panel}`).setAttribute('aria-expanded', String(open));
    }
    $('panels').hidden = name === null;
    root.dataset.panel = name || '';
    openPanel = name;
    if (name === 'chat') loadChat().then((chat) => chat.seen());
    requestAnimationFrame(() => stage.render());
}

function closePanels() {
    const was = openPanel;
    setPanel(null);
    if (was) $(`open-${was}`).focus();
}

for (const name of ['people', 'chat', 'settings']) {
    $(`open-${name}`).addEventListener('click', () => {
        const opening = openPanel !== name;
        setPanel(opening ? name : null);
        if (opening) $(`${name}-title`).focus();
    });
}
for (const button of root.querySelectorAll('.panel-close')) {
    button.addEventListener('click', closePanels);
}
$('panels').addEventListener('keydown', (/** @type {KeyboardEvent} */ event) => {
    if (event.key === 'Escape') closePanels();
});
for (const heading of root.querySelectorAll('.panel h2')) heading.tabIndex = -1;

// Chat and documents load when the panel is first opened or the first message arrives; what
// arrives meanwhile waits here, in order.
/** @type {any[]} */
const early = [];
/** @type {Promise<{seen: () => void}>|null} */
let chat = null;
let chatWired = false;

function loadChat() {
    chat ??= import('./chat.js').then(({wireChat}) => {
        const wired = wireChat({
            room, session, early,
            words: {...words, cancelled: words['cancelled-transfer']},
            isOpen: () => openPanel === 'chat',
            onUnread: (count, announcement) => {
                const badge = $('chat-unread');
                badge.hidden = count === 0;
                badge.querySelector('.count').textContent = String(count);
                badge.querySelector('.label').textContent = ` ${words.unread.replace('{count}', String(count))}`;
                if (announcement) announce($('chat-announce'), announcement);
            },
        });
        chatWired = true;
        return wired;
    });
    return chat;
}
session.addEventListener('message', (event) => {
    const detail = /** @type {CustomEvent} */ (event).detail;
    if (chatWired || (detail.channel !== 'chat' && detail.channel !== 'files')) return;
    early.push(detail);
    loadChat();
});

// The own camera and microphone: the buttons, and the room hears of every change.
const micButton = $('toggle-microphone');
const cameraButton = $('toggle-camera');
function showDevices() {
    const {microphone} = media;
    micButton.setAttribute('aria-pressed', String(!microphone));
    micButton.querySelector('span').textContent = microphone ? words.mute : words.unmute;
    cameraButton.setAttribute('aria-pressed', String(!media.camera));
    cameraButton.querySelector('span').textContent = media.camera ? words['camera-off'] : words['camera-on'];
    micButton.disabled = !media.has('audio');
    cameraButton.disabled = !media.has('video') || media.audioOnly;
}
media.addEventListener('change', () => {
    showDevices();
    connection.sendStatus(media.status());
});
micButton.addEventListener('click', () => media.enable('audio', !media.microphone));
cameraButton.addEventListener('click', () => media.enable('video', !media.camera));
ready.then((stream) => {
    if (!stream) showError(words['no-devices']);
    showDevices();
});

$('fullscreen').addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else root.requestFullscreen().catch(() => {});
});
document.addEventListener('fullscreenchange', () => {
    $('fullscreen').setAttribute('aria-pressed', String(!!document.fullscreenElement));
});

$('hangup').addEventListener('click', async () => {
    const question = room.isStaff ? words['confirm-leave-staff'] : words['confirm-leave'];
    if (await ask(question, words['yes-leave'], words['no-stay'])) connection.send('leave');
});
const endButton = $('end');
if (endButton) {
    endButton.addEventListener('click', async () => {
        if (await ask(words['confirm-end'], words['yes-end'])) connection.send('end');
    });
}

const stage = wireStage({room, session, media, words, onSoundBlocked: () => { $('sound').hidden = false; }});
$('sound').addEventListener('click', () => {
    stage.unmute();
    $('sound').hidden = true;
});
wirePeople({connection, room, words, say, ask});
const screen = wireScreenShare({connection, room, session, button: $('share-screen'), words,
    say: (message) => announce($('screen-status'), message)});
wireDevices({media, session, ready});
wireQuality({connection, room, session, media, ready, words});

connection.addEventListener('state', (event) => {
    const state = /** @type {CustomEvent} */ (event).detail;
    if (state === 'connecting') say(words.connecting);
    else if (state === 'reconnecting') say(words.reconnecting);
    else if (state === 'open') say(root.dataset.view === 'call' ? '' : words.connected);
});
connection.addEventListener('joined', (event) => {
    freshIce.take(/** @type {CustomEvent} */ (event).detail.ice);
    showError();
    ready.then(() => connection.sendStatus(media.status()));
});
let wasInCall = false;
room.addEventListener('self', () => {
    const self = room.self;
    if (!self) return;
    if (room.inCall) {
        if (!wasInCall && !room.isStaff) say(words.admitted);
        show('call');
    } else if (self.presence === 'waiting') {
        if (root.dataset.view !== 'waiting') say($('waiting-title').textContent);
        show('waiting');
    }
    wasInCall = room.inCall;
    if (endButton) endButton.hidden = !room.isHost;
});
room.addEventListener('joined', () => {
    // The host sees the waiting list at once where there is room for it.
    if (room.isStaff && WIDE.matches && openPanel === null) setPanel('people');
});
/** Members whose connection to us broke; their recovery is announced, nothing else. */
const lost = new Set();
session.addEventListener('state', (event) => {
    const {member, state} = /** @type {CustomEvent} */ (event).detail;
    if (state === 'failed' || state === 'disconnected') {
        lost.add(member);
        say(words['call-lost']);
    } else if (state === 'connected' && lost.delete(member) && lost.size === 0) {
        say(words.connected);
    }
});
session.addEventListener('peerclosed', (event) => {
    lost.delete(/** @type {CustomEvent} */ (event).detail.member);
});
/** Messages the page sends by itself: a refusal of one is no news for the person, who did
 * nothing; the media session recovers (mesh.js restarts a connection that does not come up). */
const AUTOMATIC = new Set(['signal', 'status', 'ping', 'ice_refresh', 'media_started']);
connection.addEventListener('error', (event) => {
    const {message, ref} = /** @type {CustomEvent} */ (event).detail;
    if (AUTOMATIC.has(ref)) console.warn('refused by the server:', ref, message);
    else showError(message);
});
connection.addEventListener('closed', (event) => {
    const reason = /** @type {CustomEvent} */ (event).detail;
    if (!room.isStaff && (reason === 'ended' || reason === 'left') && data.surveyUrl) {
        goToSurvey();
        return;
    }
    if (reason === 'withdrawn' && data.withdrawnUrl) {
        // Consent withdrawn (perhaps in another tab): the page that confirms it.
        media.stop();
        location.assign(/** @type {string} */ (data.withdrawnUrl));
        return;
    }
    if (reason === 'left') over(words['left-staff'], '', true);
    else if (reason === 'ended') over(words.ended);
    // Refused at the door: the error that came first says why.
    else over({superseded: words.superseded, cancelled: words.cancelled, removed: words.removed,
        withdrawn: words.withdrawn, forbidden: words.forbidden}[/** @type {string} */ (reason)] || '');
});

connection.connect();
