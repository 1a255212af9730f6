// The quality choice, the own connection's indicator and, for the staff, the participants' live
// network samples. The room page calls wireQuality once.
import {Quality, grade} from './quality.js';
import {announce} from './announce.js';

/** @typedef {import('./quality.js').Mode} Mode */
/** @typedef {import('./quality.js').Grade} Grade */

const REPORT_INTERVAL = 5000;
const STORAGE_KEY = 'videotermin.quality';
const LIGHTS = {good: 'green', fair: 'yellow', poor: 'red'};
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * @param {{
 *   connection: import('./protocol.js').Connection,
 *   room: import('./room.js').Room,
 *   session: import('./mesh.js').MeshSession,
 *   media: import('./media.js').LocalMedia,
 *   ready: Promise<MediaStream|null>,
 *   words: Record<string, string>,
 * }} options
 */
export function wireQuality({connection, room, session, media, ready, words}) {
    const box = $('quality');
    const text = box.dataset;
    const quality = new Quality(() => session.connections());
    /** The mode each peer receives at most, as it told us over the control channel. */
    /** @type {Map<string, Mode>} */
    const wanted = new Map();
    quality.capFor = (peer) => wanted.get(peer.member) || 'high';
    /** @type {any} */ (globalThis).videoterminQuality = quality;

    const number = (/** @type {number} */ n) =>
        n.toLocaleString(document.documentElement.lang || undefined, {maximumFractionDigits: n < 10 ? 1 : 0});
    /** @param {number|null} n @param {string} unit */
    const measured = (n, unit) => (n === null ? words.unmeasured : `${number(n)} ${unit}`);

    /** Tell the peers what we receive at most: what we send in, so a weak link is spared. */
    const modeMessage = () => JSON.stringify({v: 1, type: 'mode', mode: quality.current});
    session.addEventListener('peer', (event) => {
        const peer = /** @type {CustomEvent} */ (event).detail;
        peer.control.addEventListener('open', () => peer.control.send(modeMessage()));
    });
    session.addEventListener('peerclosed', (event) => {
        wanted.delete(/** @type {CustomEvent} */ (event).detail.member);
    });
    session.addEventListener('message', (event) => {
        const {channel, member, data} = /** @type {CustomEvent} */ (event).detail;
        if (channel !== 'control' || typeof data !== 'string' || data.length > 200) return;
        let message;
        try {
            message = JSON.parse(data);
        } catch {
            return;
        }
        if (message && message.type === 'mode' && ['high', 'saver', 'audio'].includes(message.mode)) {
            wanted.set(member, message.mode);
            quality.applyAll().catch((e) => console.warn('quality', e));
        }
    });

    // Once per page, when its first peer connection comes up after admission: the server times
    // admission to media for its metrics and keeps nothing about the person (docs/protocol.md).
    let mediaReported = false;
    session.addEventListener('state', (event) => {
        if (mediaReported || room.isStaff) return;
        if (/** @type {CustomEvent} */ (event).detail.state !== 'connected') return;
        mediaReported = connection.send('media_started');
    });

    function reportNow() {
        if (room.isStaff) return;
        const network = quality.report();
        if (network) connection.sendStatus({network});
        // Before the call there is no media to measure: the round trip to the server is what
        // the staff can see live in the waiting list (sent with the pong).
        else connection.ping();
    }
    connection.addEventListener('pong', (event) => {
        if (room.isStaff || quality.report()) return;
        const rttMs = /** @type {CustomEvent} */ (event).detail;
        const network = {rttMs: Math.min(60_000, Math.round(rttMs)), lossPct: null,
            kbpsOut: null, kbpsIn: null, mode: quality.current};
        connection.sendStatus({network});
    });

    function showSentAs() {
        $('quality-sent').textContent = quality.current === quality.chosen
            ? '' : (text.msgSentAs || '').replace('{mode}', words[quality.current]);
    }

    // The choice outlives a reload of the page (J15), not the tab.
    const kept = sessionStorage.getItem(STORAGE_KEY);
    for (const input of box.querySelectorAll('input[name="quality-mode"]')) {
        input.addEventListener('change', () => {
            if (!input.checked) return;
            sessionStorage.setItem(STORAGE_KEY, input.value);
            quality.choose(/** @type {Mode} */ (input.value));
        });
        if (input.value === kept) input.checked = true;
    }
    quality.onMode = (mode, why) => {
        const announcement = {down: text.msgDown, up: text.msgUp, crowd: text.msgCrowd}[
            /** @type {'down'|'up'|'crowd'} */ (why)];
        if (announcement) announce($('quality-announce'), announcement.replace('{mode}', words[mode]));
        media.setAudioOnly(mode === 'audio');
        showSentAs();
        session.send('control', modeMessage());
        reportNow();
    };
    /** @type {Grade|null} */
    let shown = null;
    quality.onSample = (sample, now) => {
        box.querySelector('.quality-indicator').hidden = false;
        $('connection-light').className = `light ${LIGHTS[now]}`;
        if (now === shown) return;
        // A connection turning poor is told while the page still sends in high quality (the
        // person may want to choose less); a page that stepped down has said so already.
        if (now === 'poor' && shown !== null && quality.current === 'high') {
            announce($('quality-announce'), (text.msgGrade || '').replace('{grade}', words[now]));
        }
        shown = now;
        box.querySelector('.quality-indicator .light').className = `light ${LIGHTS[now]}`;
        $('quality-grade').textContent = (text.msgGrade || '').replace('{grade}', words[now]);
        $('connection-light').title = $('quality-grade').textContent;
    };
    quality.start();
    ready.then(() => {
        if (kept === 'high' || kept === 'saver' || kept === 'audio') quality.choose(kept);
    });
    setInterval(reportNow, REPORT_INTERVAL);

    connection.addEventListener('network', (event) => {
        if (room.isStaff) showNetwork(/** @type {CustomEvent} */ (event).detail);
    });
    session.addEventListener('peerclosed', (event) => {
        const id = /** @type {CustomEvent} */ (event).detail.member;
        const item = $('network-list').querySelector(`[data-member="${id}"]`);
        if (item) item.remove();
    });

    /** @param {{member: string, session: string, network: import('./quality.js').Report}} message */
    function showNetwork(message) {
        const member = room.member(message.member);
        // Before the call the waiting list shows the round trip (people.js).
        if (!member || member.presence !== 'in_call') return;
        const list = $('network-list');
        let item = list.querySelector(`[data-member="${message.member}"]`);
        if (!item) {
            item = $('network-template').content.firstElementChild.cloneNode(true);
            item.dataset.member = message.member;
            list.append(item);
        }
        const n = message.network;
        const now = grade({...n, availableKbps: null}, n.mode);
        item.querySelector('.name').textContent = member.name;
        item.querySelector('.light').className = `light ${LIGHTS[now]}`;
        item.querySelector('.grade').textContent = (text.msgGrade || '').replace('{grade}', words[now]);
        item.querySelector('.rtt').textContent = measured(n.rttMs, 'ms');
        item.querySelector('.loss').textContent = measured(n.lossPct, '%');
        item.querySelector('.out').textContent = measured(n.kbpsOut, 'kbit/s');
        item.querySelector('.in').textContent = measured(n.kbpsIn, 'kbit/s');
        item.querySelector('.mode').textContent = words[n.mode];
        $('network-none').hidden = true;
    }

    return quality;
}
