// Live regions: what a screen reader says when something happens that the person cannot see.

/**
 * Put `text` into a live region (role="status" or "alert") so it is read out — also when it is
 * the same words as last time (a second message from the same person): a region that does not
 * change is not read again, so it is emptied first and filled a moment later.
 * @param {HTMLElement|null} region @param {string} text
 */
export function announce(region, text) {
    if (!region) return;
    if (!text || region.textContent !== text) {
        region.textContent = text;
        return;
    }
    region.textContent = '';
    setTimeout(() => { region.textContent = text; }, 150);
}
