// The own camera and microphone. "Off" only disables the track, so nothing is renegotiated.

export class LocalMedia extends EventTarget {
    constructor() {
        super();
        /** @type {MediaStream|null} */
        this.stream = null;
        this.camera = true;
        this.microphone = true;
        /** Audio only (quality mode): the camera sends nothing, whatever its switch says. */
        this.audioOnly = false;
    }

    /** Ask for camera and microphone; fall back to the microphone alone, then to nothing. */
    async start() {
        for (const constraints of [{audio: true, video: true}, {audio: true}]) {
            try {
                this.stream = await navigator.mediaDevices.getUserMedia(constraints);
                break;
            } catch (error) {
                console.warn('getUserMedia', error);
            }
        }
        this.camera = this.has('video');
        this.microphone = this.has('audio');
        this.emit();
        return this.stream;
    }

    emit() {
        this.dispatchEvent(new CustomEvent('change', {detail: this.status()}));
    }

    /** @param {'audio'|'video'} kind */
    has(kind) {
        return !!this.stream && this.stream.getTracks().some((t) => t.kind === kind);
    }

    /** @param {'audio'|'video'} kind @returns {MediaStreamTrack|null} */
    track(kind) {
        return (this.stream && this.stream.getTracks().find((t) => t.kind === kind)) || null;
    }

    /** @param {'audio'|'video'} kind @param {boolean} on */
    enable(kind, on) {
        if (!this.stream) return;
        for (const track of this.stream.getTracks()) if (track.kind === kind) track.enabled = on;
        if (kind === 'video') this.camera = on && this.has('video');
        else this.microphone = on && this.has('audio');
        this.emit();
    }

    /** @param {boolean} on */
    setAudioOnly(on) {
        if (this.audioOnly === on) return;
        this.audioOnly = on;
        this.emit();
    }

    /**
     * Put a track from another device in place of the own one of its kind.
     * @param {MediaStreamTrack} track
     */
    swap(track) {
        const old = this.track(/** @type {'audio'|'video'} */ (track.kind));
        if (!this.stream || !old) return;
        track.enabled = old.enabled;
        this.stream.removeTrack(old);
        this.stream.addTrack(track);
        old.stop();
        this.emit();
    }

    /** What the room is told: camera and microphone on or off. */
    status() {
        return {camera: this.camera && !this.audioOnly, microphone: this.microphone};
    }

    stop() {
        if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    }
}
