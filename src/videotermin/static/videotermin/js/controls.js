// The call controls both room pages share: microphone, camera and full screen.
import {setDevice} from './call.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * Show the own picture and wire the shared buttons; report when there is no camera or microphone.
 * @param {{
 *   media: import('./call.js').LocalMedia,
 *   connection: import('./protocol.js').Connection,
 *   ready: Promise<MediaStream|null>,
 *   fullscreenTarget: HTMLElement,
 *   onNoDevices: () => void,
 * }} options
 */
export function wireControls({media, connection, ready, fullscreenTarget, onNoDevices}) {
    ready.then((stream) => {
        if (stream) $('local-video').srcObject = stream;
        else onNoDevices();
        $('toggle-camera').disabled = !media.has('video');
        $('toggle-microphone').disabled = !media.has('audio');
    });
    $('toggle-microphone').addEventListener('click', () => {
        setDevice(media, connection, 'audio', !media.microphone);
        $('toggle-microphone').setAttribute('aria-pressed', String(!media.microphone));
    });
    $('toggle-camera').addEventListener('click', () => {
        setDevice(media, connection, 'video', !media.camera);
        $('toggle-camera').setAttribute('aria-pressed', String(!media.camera));
    });
    $('fullscreen').addEventListener('click', () => {
        if (document.fullscreenElement) document.exitFullscreen();
        else fullscreenTarget.requestFullscreen().catch(() => {});
    });
    document.addEventListener('fullscreenchange', () => {
        $('fullscreen').setAttribute('aria-pressed', String(!!document.fullscreenElement));
    });
}
