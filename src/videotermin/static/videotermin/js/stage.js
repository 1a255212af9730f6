// The call stage: a tile per member in the call (picture, name, role, microphone and camera
// markers, who speaks), a shared screen large, the own picture small. Every name is set as text.

/** @typedef {import('./protocol.js').Member} Member */
/** @typedef {{item: HTMLElement, video: HTMLVideoElement, stream: MediaStream,
 *   screen: MediaStreamTrack|null}} Tile */

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const SPEAKING_LEVEL = 0.04;
const SPEAKING_EVERY = 400;

/**
 * The number of columns that gives n tiles of 4:3 the largest size in a width x height area.
 * @param {number} n @param {number} width @param {number} height
 */
export function bestColumns(n, width, height) {
    let best = 1;
    let bestSize = 0;
    for (let columns = 1; columns <= Math.max(1, n); columns++) {
        const rows = Math.ceil(n / columns);
        const tileWidth = Math.min(width / columns, (height / rows) * 4 / 3);
        if (tileWidth > bestSize + 0.5) {
            best = columns;
            bestSize = tileWidth;
        }
    }
    return best;
}

/**
 * @param {{
 *   room: import('./room.js').Room,
 *   session: import('./mesh.js').MeshSession,
 *   media: import('./media.js').LocalMedia,
 *   words: Record<string, string>,
 *   onSoundBlocked: () => void,
 * }} options
 */
export function wireStage({room, session, media, words, onSoundBlocked}) {
    const stage = $('stage');
    const tiles = $('tiles');
    const screenVideo = $('remote-screen');
    /** @type {Map<string, Tile>} by member id */
    const byMember = new Map();
    /** @type {string|null} whose screen is shown */
    let screenOf = null;

    /** @param {string} role */
    const roleName = (role) => words[`role-${role}`] || role;

    /** @param {string} id @returns {Tile} */
    function tile(id) {
        let found = byMember.get(id);
        if (found) return found;
        const item = $('tile-template').content.firstElementChild.cloneNode(true);
        item.dataset.member = id;
        const video = item.querySelector('video');
        const stream = new MediaStream();
        video.srcObject = stream;
        found = {item, video, stream, screen: null};
        byMember.set(id, found);
        tiles.append(item);
        return found;
    }

    /** @param {Tile} t */
    function play(t) {
        t.video.play().catch(() => {
            // Autoplay with sound was refused: play muted and offer a button for the sound.
            t.video.muted = true;
            t.video.play().catch(() => {});
            onSoundBlocked();
        });
    }

    /** @param {Member} member */
    function label(member) {
        const t = tile(member.id);
        t.item.querySelector('.tile-name').textContent = member.name;
        t.item.querySelector('.tile-role').textContent = roleName(member.role);
        t.item.querySelector('.tile-muted').hidden = member.microphone;
        const cameraOff = !member.camera;
        t.item.querySelector('.tile-camera-off').hidden = !cameraOff;
        t.item.classList.toggle('camera-off', cameraOff);
        t.item.querySelector('.tile-initial').textContent = (member.name || '?').trim().charAt(0);
        t.video.setAttribute('aria-label', `${member.name} (${roleName(member.role)})`);
    }

    function render() {
        const others = room.inCall ? room.others() : [];
        for (const [id, t] of [...byMember]) {
            if (!others.some((m) => m.id === id)) {
                t.item.remove();
                byMember.delete(id);
            }
        }
        for (const member of others) label(member);
        // The screen of whoever shares now, large; the room says who does, the peer brings it.
        const sharing = others.find((m) => m.screen && byMember.get(m.id)?.screen) || null;
        const track = sharing ? /** @type {Tile} */ (byMember.get(sharing.id)).screen : null;
        if (track && screenVideo.srcObject?.getTracks()[0] !== track) {
            screenVideo.srcObject = new MediaStream([track]);
        }
        screenVideo.hidden = !track;
        $('screen-area').hidden = !track;
        stage.classList.toggle('sharing', !!track);
        const name = sharing && track ? sharing.name : null;
        if (name !== screenOf) {
            const message = name ? words['screen-started'] : words['screen-stopped'];
            if (name || screenOf) $('screen-status').textContent =
                (message || '').replace('{name}', name || screenOf || '');
            screenOf = name;
        }
        stage.dataset.count = String(others.length);
        $('alone').hidden = !room.inCall || others.length > 0;
        layout();
    }

    /** Fit the tiles into the stage: the own picture joins the grid from three people on. */
    function layout() {
        const count = byMember.size;
        const ownInGrid = count >= 2;
        stage.dataset.layout = ownInGrid ? 'grid' : 'pip';
        const own = $('own-tile');
        if (ownInGrid && own.parentElement !== tiles) tiles.append(own);
        else if (!ownInGrid && own.parentElement !== stage) stage.append(own);
        const n = count + (ownInGrid ? 1 : 0);
        const box = tiles.getBoundingClientRect();
        const columns = bestColumns(Math.max(1, n), box.width || 1, box.height || 1);
        tiles.style.setProperty('--columns', String(columns));
        tiles.style.setProperty('--rows', String(Math.ceil(Math.max(1, n) / columns)));
    }

    session.addEventListener('track', (event) => {
        const {member, kind, track} = /** @type {CustomEvent} */ (event).detail;
        const t = tile(member);
        if (kind === 'screen') {
            t.screen = track;
        } else {
            for (const old of t.stream.getTracks()) if (old.kind === track.kind) t.stream.removeTrack(old);
            t.stream.addTrack(track);
            play(t);
        }
        const current = room.member(member);
        if (current) label(current);
        render();
    });
    session.addEventListener('state', (event) => {
        const {member, state} = /** @type {CustomEvent} */ (event).detail;
        const t = byMember.get(member);
        if (t) t.item.dataset.connection = state;
    });
    for (const type of ['joined', 'member', 'appointment', 'self']) room.addEventListener(type, render);
    new ResizeObserver(layout).observe(tiles);

    // The own picture, mirrored like a mirror; its markers follow the own switches.
    const ownVideo = $('local-video');
    media.addEventListener('change', () => {
        if (media.stream && ownVideo.srcObject !== media.stream) ownVideo.srcObject = media.stream;
        const {camera, microphone} = media.status();
        $('own-tile').querySelector('.tile-muted').hidden = microphone;
        $('own-tile').querySelector('.tile-camera-off').hidden = camera;
        $('own-tile').classList.toggle('camera-off', !camera);
    });

    // Who speaks: the audio level the browser reports per incoming source, a few times a second.
    setInterval(() => {
        for (const peer of session.connections()) {
            const t = byMember.get(peer.member);
            const receiver = peer.sections.audio && peer.sections.audio.receiver;
            if (!t || !receiver || !receiver.getSynchronizationSources) continue;
            const level = Math.max(0, ...receiver.getSynchronizationSources()
                .map((source) => source.audioLevel || 0));
            t.item.classList.toggle('speaking', level > SPEAKING_LEVEL);
        }
    }, SPEAKING_EVERY);

    return {
        render,
        /** Every remote picture with sound again (after the "turn on sound" button). */
        unmute() {
            for (const t of byMember.values()) {
                t.video.muted = false;
                t.video.play().catch(() => {});
            }
        },
    };
}
