// ICE servers and transport policy (docs/protocol.md, "welcome" and "ice"). The page brings a
// first configuration; every welcome brings fresh TURN credentials, and the page asks for new
// ones before they expire, because a room page may stay open for hours and a call may be long.

/**
 * @typedef {{servers: RTCIceServer[], policy: 'relay'|'all', ttl?: number|null}} Ice
 * @typedef {{pc: RTCPeerConnection, offerer: boolean, restartIce: () => Promise<void>}} IcePeer
 */

/** Ask again after this share of the credentials' lifetime, well before they expire. */
const REFRESH_SHARE = 1 / 3;
const MIN_REFRESH_MS = 10000;

/**
 * The configuration the page was rendered with (`data-ice-servers`, `data-ice-policy`).
 * @param {DOMStringMap} data
 * @returns {RTCConfiguration}
 */
export function pageIceConfig(data) {
    return {
        iceServers: JSON.parse(data.iceServers || '[]'),
        iceTransportPolicy: data.icePolicy === 'relay' ? 'relay' : 'all',
    };
}

/**
 * Take the ICE configuration for the peer connections created from now on.
 * @param {RTCConfiguration} config changed in place
 * @param {Ice|undefined} ice
 */
export function updateIceConfig(config, ice) {
    if (!ice) return;
    config.iceServers = ice.servers;
    config.iceTransportPolicy = ice.policy === 'relay' ? 'relay' : 'all';
}

/**
 * When to ask for fresh credentials, in milliseconds from their arrival; null without TURN.
 * Counted from the arrival, not from the expiry in the username: the browser's clock may be off.
 * @param {Ice|undefined} ice
 * @returns {number|null}
 */
export function refreshDelayMs(ice) {
    if (!ice || !ice.ttl || ice.ttl <= 0) return null;
    return Math.max(MIN_REFRESH_MS, ice.ttl * 1000 * REFRESH_SHARE);
}

/**
 * Keeps the page's ICE configuration fresh: for new peers, and for the running ones, whose next
 * ICE restart then allocates relays with the new credentials.
 */
export class FreshIce {
    /**
     * @param {import('./protocol.js').Connection} connection
     * @param {RTCConfiguration} config the page's configuration, changed in place
     * @param {Map<string, IcePeer>} running the peers of the page (mesh.js)
     */
    constructor(connection, config, running) {
        this.connection = connection;
        this.config = config;
        this.running = running;
        /** @type {ReturnType<typeof setTimeout>|undefined} */
        this.timer = undefined;
        connection.addEventListener('ice', (event) => this.take(
            /** @type {CustomEvent} */ (event).detail, true));
    }

    /**
     * @param {Ice|undefined} ice from a welcome, or the answer to our refresh
     * @param {boolean} [refreshed] the answer to our refresh: renew the running relays now
     */
    take(ice, refreshed = false) {
        if (!ice) return;
        updateIceConfig(this.config, ice);
        for (const peer of this.running.values()) {
            try {
                peer.pc.setConfiguration({...peer.pc.getConfiguration(),
                    iceServers: this.config.iceServers,
                    iceTransportPolicy: this.config.iceTransportPolicy});
            } catch (error) {
                console.warn('ICE configuration not taken', error);
                continue;
            }
            // The offerer restarts ICE, so that both sides' relays are allocated anew with the
            // fresh credentials before the old ones expire; media keeps flowing meanwhile.
            if (refreshed && peer.offerer && peer.pc.connectionState === 'connected') {
                peer.restartIce().catch((error) => console.warn('ICE restart failed', error));
            }
        }
        clearTimeout(this.timer);
        const delay = refreshDelayMs(ice);
        if (delay !== null) this.timer = setTimeout(() => this.connection.refreshIce(), delay);
    }

    stop() { clearTimeout(this.timer); }
}
