// A ticket's QR code as the service draws it (GET /v1/tickets/{id}/qr.svg), put inline in
// the page. The route needs the bearer token, so it cannot be an <img src>; and rather than
// trusting markup into the page, only what a QR drawing is made of is copied: the viewBox
// and its paths' outlines and colors.
const svgNamespace = 'http://www.w3.org/2000/svg';
const colorPattern = /^(#[0-9a-f]{3,8}|none|black|white)$/i;
const pathDataPattern = /^[MmHhVvLlZz0-9.,\s-]*$/;
/** A QR code of the largest version is 177 modules plus its quiet zone: its outline is far below this. */
const pathDataLengthMax = 200_000;

/** The QR drawing of `markup` as a new <svg> element labelled `label`; null when it is not one. */
export function qrSvgElement(markup: string, label: string): SVGSVGElement | null {
  const parsed = new DOMParser().parseFromString(markup, 'image/svg+xml').documentElement;
  if (parsed.namespaceURI !== svgNamespace || parsed.localName !== 'svg') return null;
  const viewBox = parsed.getAttribute('viewBox');
  if (!viewBox || !/^[\d.\s]+$/.test(viewBox)) return null;
  const svg = document.createElementNS(svgNamespace, 'svg');
  svg.setAttribute('viewBox', viewBox);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  for (const source of Array.from(parsed.getElementsByTagNameNS(svgNamespace, 'path'))) {
    const data = source.getAttribute('d') ?? '';
    if (!pathDataPattern.test(data) || data.length > pathDataLengthMax) return null;
    const path = document.createElementNS(svgNamespace, 'path');
    path.setAttribute('d', data);
    for (const name of ['fill', 'stroke']) {
      const value = source.getAttribute(name);
      if (value !== null && colorPattern.test(value)) path.setAttribute(name, value);
    }
    svg.append(path);
  }
  return svg.childElementCount > 0 ? svg : null;
}
