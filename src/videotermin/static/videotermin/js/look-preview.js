// The look's preview follows the colour fields as they change; saving checks the contrast.
// (The CSP forbids style attributes in markup; properties set through the CSSOM are allowed.)

const preview = document.getElementById('look-preview');
const fields = /** @type {const} */ ([['id_primary_color', '--brand'], ['id_text_color', '--brand-text']]);

for (const [id, property] of fields) {
  const input = /** @type {HTMLInputElement | null} */ (document.getElementById(id));
  if (preview && input) {
    input.addEventListener('input', () => preview.style.setProperty(property, input.value));
  }
}
