// Screen sharing without renegotiation: every offer reserves a second video section for the
// screen (call.js), so sharing replaces that sender's track and stopping replaces it with null.
// The room state says who shares (status "screen"); a citizen shares only while the counselor
// allows it (message "screen"), and her page stops sharing as soon as that is revoked.
import {peers, peerListeners} from './call.js';

/** @typedef {import('./protocol.js').Connection} Connection */
/** @typedef {import('./protocol.js').Room} Room */
/** @typedef {import('./call.js').Peer} Peer */

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

export class ScreenShare {
    /** @param {Connection} connection */
    constructor(connection) {
        this.connection = connection;
        /** @type {MediaStreamTrack|null} our own shared screen */
        this.track = null;
        /** @type {WeakMap<Peer, MediaStreamTrack>} the other side's screen, per peer */
        this.remote = new WeakMap();
        /** @type {(sharing: boolean) => void} */
        this.onChange = () => {};
        /** @type {() => void} a peer's screen section was negotiated */
        this.onRemoteTrack = () => {};
        peerListeners.add((peer) => {
            peer.onScreenTrack = (track, transceiver) => {
                this.remote.set(peer, track);
                // A peer made while we share (a reload on the other side) gets the screen too.
                if (this.track) transceiver.sender.replaceTrack(this.track).catch(console.warn);
                this.onRemoteTrack();
            };
        });
    }

    static supported() {
        return !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    }

    /** Ask the browser for a screen or window and send it to every peer. */
    async start() {
        if (this.track) return;
        const stream = await navigator.mediaDevices.getDisplayMedia({video: true, audio: false});
        const track = stream.getVideoTracks()[0];
        // Text must stay sharp: lower the frame rate rather than the resolution.
        track.contentHint = 'detail';
        // The browser's own "Stop sharing" control ends the track.
        track.addEventListener('ended', () => {
            if (this.track === track) this.stop();
        });
        this.track = track;
        await this.replaceAll(track);
        this.connection.sendStatus({screen: true});
        this.onChange(true);
    }

    async stop() {
        const track = this.track;
        if (!track) return;
        this.track = null;
        track.stop();
        await this.replaceAll(null);
        this.connection.sendStatus({screen: false});
        this.onChange(false);
    }

    /** @param {MediaStreamTrack|null} track */
    async replaceAll(track) {
        await Promise.all([...peers.values()].map((peer) => {
            const transceiver = peer.screenTransceiver();
            return transceiver ? transceiver.sender.replaceTrack(track) : undefined;
        }));
    }

    /**
     * The screen somebody else shares now, if its section is negotiated.
     * @param {string|null} session that somebody's connection
     */
    remoteTrack(session) {
        const peer = session ? peers.get(session) : undefined;
        return (peer && this.remote.get(peer)) || null;
    }
}

/**
 * Who shares a screen, seen from one member of the room: the session and name, or null.
 * @param {Room} room @param {string|null} me own participant id; null for the counselor
 */
export function sharer(room, me) {
    if (me !== null && room.counselor.screen) {
        return {session: room.counselor.session, name: room.counselor.name};
    }
    // The server reports a participant's share only while it is allowed.
    const other = room.participants.find((p) => p.id !== me && p.screen && p.session);
    return other ? {session: other.session, name: other.name} : null;
}

/**
 * Wire the "Share screen" button, the shared screen on the stage and, for the counselor, the
 * permission toggles. Returns the ScreenShare and the room handler the page calls.
 * @param {{connection: Connection, counselor: boolean}} options
 */
export function wireScreenShare({connection, counselor}) {
    const share = new ScreenShare(connection);
    const button = $('share-screen');
    const text = button.dataset;  // the translated messages
    const video = $('remote-screen');
    const stage = video.parentElement;
    /** @type {Room|null} */
    let room = null;
    /** @type {string|null} */
    let me = null;
    /** @type {string|null} */
    let shown = null;

    /** @param {string|undefined} message @param {string} name */
    const announce = (message, name) => {
        $('screen-status').textContent = (message || '').replace('{name}', name);
    };

    function render() {
        if (!room) return;
        const self = room.participants.find((p) => p.id === me);
        const inCall = counselor
            ? room.appointment.callStarted && !room.appointment.callEnded
            : !!self && self.presence === 'in_call';
        const allowed = counselor || (!!self && self.mayShareScreen);
        button.hidden = !(inCall && allowed && ScreenShare.supported());
        button.setAttribute('aria-pressed', String(!!share.track));
        const who = sharer(room, me);
        const track = who ? share.remoteTrack(who.session) : null;
        if (track && video.srcObject?.getTracks()[0] !== track) {
            video.srcObject = new MediaStream([track]);
        }
        video.hidden = !track;
        stage.classList.toggle('sharing', !!track);
        const name = who && track ? who.name : null;
        if (name !== shown) {
            if (name) announce(text.msgStarted, name);
            else if (shown) announce(text.msgStopped, shown);
            shown = name;
        }
        if (counselor) renderPermissions(room);
    }

    /** @param {Room} current */
    function renderPermissions(current) {
        const list = $('screen-permissions');
        const inCall = current.participants.filter((p) => p.presence === 'in_call');
        for (const item of [...list.children]) {
            if (!inCall.some((p) => p.id === item.dataset.participant)) item.remove();
        }
        for (const p of inCall) {
            let toggle = list.querySelector(`[data-participant="${p.id}"] button`);
            if (!toggle) {
                const item = document.createElement('li');
                item.dataset.participant = p.id;
                toggle = document.createElement('button');
                toggle.type = 'button';
                toggle.className = 'secondary';
                toggle.addEventListener('click', () => {
                    const allowed = toggle.getAttribute('aria-pressed') !== 'true';
                    connection.send('screen', {participant: p.id, allowed});
                });
                item.append(toggle);
                list.append(item);
            }
            toggle.textContent = (list.dataset.msgAllow || '').replace('{name}', p.name);
            toggle.setAttribute('aria-pressed', String(p.mayShareScreen));
        }
        list.hidden = inCall.length === 0;
    }

    button.addEventListener('click', () => {
        const action = share.track ? share.stop() : share.start();
        action.catch((error) => {
            // The person cancelled the browser's picker: nothing to say.
            if (error && error.name !== 'NotAllowedError') console.warn('screen sharing', error);
        }).finally(render);
    });
    share.onChange = (sharing) => {
        // Revoked while the browser's picker was open: stop at once.
        const self = room && room.participants.find((p) => p.id === me);
        if (sharing && !counselor && !(self && self.mayShareScreen)) share.stop();
        render();
    };
    share.onRemoteTrack = render;

    return {
        share,
        /** @param {Room} current @param {string|null} self own participant id; null: counselor */
        gotRoom(current, self) {
            room = current;
            me = self;
            const mine = current.participants.find((p) => p.id === me);
            if (!counselor && share.track && mine && !mine.mayShareScreen) {
                share.stop();  // the counselor revoked the permission
                announce(text.msgRevoked, '');
            } else if (share.track) {
                // After a reconnect the server forgot the share: tell it again.
                const reported = counselor ? current.counselor.screen : !!mine && mine.screen;
                if (!reported) connection.sendStatus({screen: true});
            }
            render();
        },
    };
}
