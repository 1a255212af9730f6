// Camera, microphone and speaker choice in the room. A new track from the chosen device replaces
// the old one on every peer's sender, so nothing is renegotiated; camera off and mute stay.
import {getMedia} from './devices.js';

/** @typedef {import('./media.js').LocalMedia} LocalMedia */
/** @typedef {import('./mesh.js').MeshSession} MeshSession */

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * Replace the own camera or microphone by another device; resolves with the new track.
 * @param {LocalMedia} media @param {MeshSession} session
 * @param {'audio'|'video'} kind @param {string} deviceId
 * @returns {Promise<MediaStreamTrack>}
 */
export async function switchDevice(media, session, kind, deviceId) {
    const stream = media.stream;
    const old = stream && stream.getTracks().find((t) => t.kind === kind);
    if (!stream || !old) throw new Error(`no ${kind} track to replace`);
    // Keep what else was asked of the old track (size, frame rate), only the device changes.
    const constraints = {[kind]: {...old.getConstraints(), deviceId: {exact: deviceId}}};
    let result = await getMedia(constraints);
    if (result.error && result.error.kind === 'in-use') {
        // Phones open one camera at a time: free the old one and try again.
        old.stop();
        result = await getMedia(constraints);
    }
    if (!result.stream) throw new Error(result.error ? result.error.name : 'no stream');
    const track = result.stream.getTracks()[0];
    track.enabled = old.enabled;
    await session.setTrack(kind === 'audio' ? 'audio' : 'camera', track);
    media.swap(track);
    return track;
}

/** @param {string} sinkId @param {Element} element */
function useSpeaker(sinkId, element) {
    const media = /** @type {HTMLMediaElement & {setSinkId?: (id: string) => Promise<void>}} */ (
        element);
    if (!sinkId || !media.setSinkId || media.id === 'local-video') return;
    media.setSinkId(sinkId).catch((error) => console.warn('setSinkId', error));
}

/**
 * Fill and wire the device settings once camera and microphone are permitted.
 * @param {{media: LocalMedia, session: MeshSession, ready: Promise<MediaStream|null>}} options
 */
export function wireDevices({media, session, ready}) {
    const panel = $('device-settings');
    if (!panel || !navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const text = panel.querySelector('.device-choices').dataset;
    const speakers = 'setSinkId' in HTMLMediaElement.prototype;
    let sinkId = '';

    /** @param {string} [message] */
    const say = (message) => { $('device-status').textContent = message || ''; };

    /** @param {'audio'|'video'} kind */
    const current = (kind) => {
        const track = media.stream && media.stream.getTracks().find((t) => t.kind === kind);
        return track ? track.getSettings().deviceId || '' : null;
    };

    /**
     * @param {HTMLSelectElement} select @param {MediaDeviceInfo[]} devices
     * @param {string|null} selected @param {string|undefined} template
     */
    const fill = (select, devices, selected, template) => {
        select.replaceChildren(...devices.map((device, index) => {
            const label = device.label || (template || '').replace('{number}', String(index + 1));
            return new Option(label, device.deviceId, false, device.deviceId === selected);
        }));
        return devices.length > 0;
    };

    async function refresh() {
        const devices = await navigator.mediaDevices.enumerateDevices();
        const of = (/** @type {string} */ kind) => devices.filter((d) => d.kind === kind);
        const camera = current('video');
        const microphone = current('audio');
        // Switching replaces a track; without one of its kind there is nothing to switch.
        $('device-camera').disabled =
            !fill($('device-camera'), of('videoinput'), camera, text.msgCamera) || camera === null;
        $('device-microphone').disabled = !fill($('device-microphone'), of('audioinput'),
            microphone, text.msgMicrophone) || microphone === null;
        const outputs = of('audiooutput');
        $('device-speaker-choice').hidden =
            !speakers || !fill($('device-speaker'), outputs, sinkId || 'default', text.msgSpeaker);
    }

    /** @param {'audio'|'video'} kind @param {HTMLSelectElement} select */
    const onChoice = (kind, select) => select.addEventListener('change', async () => {
        const name = select.selectedOptions[0] ? select.selectedOptions[0].text : '';
        select.disabled = true;
        try {
            await switchDevice(media, session, kind, select.value);
            say((text.msgSwitched || '').replace('{name}', name));
        } catch (error) {
            console.warn('switching device', error);
            say(text.msgFailed);
        }
        await refresh();
    });
    onChoice('video', $('device-camera'));
    onChoice('audio', $('device-microphone'));
    $('device-speaker').addEventListener('change', () => {
        sinkId = $('device-speaker').value;
        for (const element of document.querySelectorAll('video, audio')) useSpeaker(sinkId, element);
        const chosen = $('device-speaker').selectedOptions[0];
        say((text.msgSwitched || '').replace('{name}', chosen ? chosen.text : ''));
    });
    // Pictures added later (another participant, a shared screen) play on the chosen speaker too.
    document.addEventListener('play', (event) => {
        if (event.target instanceof Element) useSpeaker(sinkId, event.target);
    }, true);
    // Labels and ids are only complete after the permission for camera and microphone.
    ready.then(refresh).catch(console.warn);
    navigator.mediaDevices.addEventListener('devicechange', () => {
        refresh().catch(console.warn);
    });
}
