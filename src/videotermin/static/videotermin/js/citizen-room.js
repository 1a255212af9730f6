// The citizen's page: waiting room, then the call with the counselor (who makes the offers).
import {Connection, socketUrl} from './protocol.js';
import {LocalMedia, Peer, closeAll, hangUp, peers} from './call.js';
import {wireControls} from './controls.js';
import {wireScreenShare} from './share.js';
import {wireDevices} from './devices-in-call.js';
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
/** @type {Peer|null} */
let peer = null;
/** @type {string|null} */
let myId = null;
let leaving = false;
let queue = Promise.resolve();

/** @param {string} [message] */
function say(message) { $('status').textContent = message || ''; }

/** @param {string} [message] */
function showError(message) {
    $('error').textContent = message || '';
    $('error').hidden = !message;
}

/** @param {'waiting'|'call'|'over'} view */
function show(view) {
    if (root.dataset.view === view) return;
    root.dataset.view = view;
    $('waiting').hidden = view !== 'waiting';
    $('call').hidden = view !== 'call';
    for (const el of root.querySelectorAll('.in-call')) el.hidden = view !== 'call';
    for (const el of root.querySelectorAll('.controls, .waiting-only')) {
        if (view === 'over') el.hidden = true;
    }
}

function goToSurvey() {
    media.stop();
    location.assign(/** @type {string} */ (text.surveyUrl));
}

/** @param {MediaStream} stream */
function showRemote(stream) {
    const video = $('remote-video');
    if (video.srcObject === stream) return;
    video.srcObject = stream;
    video.play().catch(() => {
        // Autoplay with sound was refused: play muted and offer a button for the sound.
        video.muted = true;
        video.play().catch(() => {});
        $('sound').hidden = false;
    });
}

/** @param {string} remote */
function newPeer(remote) {
    if (peer) peer.close();
    const created = new Peer(connection, remote, config);
    created.addLocalStream(media.stream);
    created.onRemoteStream = showRemote;
    created.onConnectionState = (state) => {
        if (peer !== created) return;
        if (state === 'connected') say(text.msgConnected);
        else if (state === 'failed' || state === 'disconnected') say(text.msgCallLost);
    };
    peer = created;
    return created;
}

/** @param {import('./protocol.js').Signal} signal */
async function handleSignal(signal) {
    if (signal.description && signal.description.type === 'offer') {
        // An offer from a new counselor session (the counselor reloaded): start afresh.
        await ready;
        const target = peer && peer.remote === signal.from && peer.pc.signalingState === 'stable'
            ? peer : newPeer(signal.from);
        show('call');
        await target.handleDescription(signal.description);
    } else if (peer && peer.remote === signal.from) {
        if (signal.description) await peer.handleDescription(signal.description);
        else if (signal.candidate) await peer.handleCandidate(signal.candidate);
    }
}

connection.onStateChange = (state) => {
    if (state === 'connecting') say(text.msgConnecting);
    else if (state === 'reconnecting') say(text.msgReconnecting);
    else if (state === 'open') say(root.dataset.view === 'call' ? '' : text.msgConnected);
};
connection.onWelcome = (welcome) => {
    freshIce.take(welcome.ice);
    myId = welcome.self.id;
    showError();
    ready.then(() => connection.sendStatus(media.status()));
};
connection.onRoom = (room) => {
    screen.gotRoom(room, myId);
    $('counselor-name').textContent = room.counselor.name;
    const me = room.participants.find((p) => p.id === myId);
    if (me && me.presence === 'in_call') show('call');
};
connection.onAdmitted = () => {
    say(text.msgAdmitted);
    show('call');
};
connection.onSignal = (signal) => {
    queue = queue.then(() => handleSignal(signal)).catch((error) => console.warn(error));
};
connection.onError = (error) => showError(error.message);
connection.onClosed = (reason) => {
    freshIce.stop();
    screen.share.stop();
    closeAll();
    peer = null;
    if (reason === 'ended' || leaving) {
        goToSurvey();
        return;
    }
    media.stop();
    show('over');
    const message = {superseded: text.msgSuperseded, cancelled: text.msgCancelled,
        forbidden: text.msgForbidden}[reason];
    if (message) showError(message);
    say();
};

const screen = wireScreenShare({connection, counselor: false});
wireDevices({media, ready});
wireControls({
    media, connection, ready, fullscreenTarget: root,
    onNoDevices: () => showError(text.msgNoDevices),
});
wireQuality({connection, media, ready, role: 'citizen'});
$('sound').addEventListener('click', () => {
    $('remote-video').muted = false;
    $('remote-video').play().catch(() => {});
    $('sound').hidden = true;
});
$('hangup').addEventListener('click', () => {
    if (!confirm(/** @type {string} */ (text.msgConfirmHangup))) return;
    leaving = true;
    hangUp(media, connection);
    // The room closes when the last participant leaves; otherwise go to the survey anyway.
    setTimeout(goToSurvey, 1500);
});

connection.connect();
