// Sharing the own screen without renegotiation: every peer connection has a section reserved
// for a screen (mesh.js), so sharing replaces that sender's track and stopping replaces it with
// null. The room says who shares (status "screen"); an invited person shares only while the
// host allows it, and the page stops sharing as soon as that is revoked.

/**
 * @param {{
 *   connection: import('./protocol.js').Connection,
 *   room: import('./room.js').Room,
 *   session: import('./mesh.js').MeshSession,
 *   button: HTMLButtonElement,
 *   say: (message: string) => void,
 *   words: Record<string, string>,
 * }} options
 */
export function wireScreenShare({connection, room, session, button, say, words}) {
    /** @type {MediaStreamTrack|null} our own shared screen */
    let track = null;
    const supported = !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);

    const allowed = () => {
        const self = room.self;
        return room.inCall && !!self && self.may.screen;
    };

    function render() {
        button.hidden = !(supported && allowed());
        button.setAttribute('aria-pressed', String(!!track));
        button.querySelector('span').textContent = track ? words['stop-sharing'] : words['share-screen'];
    }

    async function start() {
        if (track) return;
        const stream = await navigator.mediaDevices.getDisplayMedia({video: true, audio: false});
        const next = stream.getVideoTracks()[0];
        // Text must stay sharp: lower the frame rate rather than the resolution.
        next.contentHint = 'detail';
        // The browser's own "Stop sharing" control ends the track.
        next.addEventListener('ended', () => {
            if (track === next) stop();
        });
        if (!allowed()) {
            next.stop();  // revoked while the browser's picker was open
            return;
        }
        track = next;
        await session.setScreen(track);
        connection.sendStatus({screen: true});
    }

    async function stop() {
        const stopped = track;
        if (!stopped) return;
        track = null;
        stopped.stop();
        await session.setScreen(null);
        connection.sendStatus({screen: false});
    }

    button.addEventListener('click', () => {
        const action = track ? stop() : start();
        action.catch((error) => {
            // The person cancelled the browser's picker: nothing to say.
            if (error && error.name !== 'NotAllowedError') console.warn('screen sharing', error);
        }).finally(render);
    });
    room.addEventListener('self', () => {
        if (track && !allowed()) {
            stop();  // the host revoked the permission, or the call is over for us
            if (room.inCall) say(words['screen-revoked'] || '');
        }
        render();
    });
    room.addEventListener('joined', () => {
        // After a reconnect the server forgot the share: tell it again.
        if (track && allowed()) connection.sendStatus({screen: true});
    });
    render();
    return {stop, get sharing() { return !!track; }};
}
