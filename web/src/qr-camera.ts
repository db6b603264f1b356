// Reading QR codes from the camera: the browser's own BarcodeDetector where it has one that
// reads QR codes (Chrome on Android, Safari 17+ behind a flag), else jsQR, a JavaScript
// decoder loaded only then, on frames of the getUserMedia video drawn to a canvas.
// Failing to get the camera is expected (no camera, permission refused, plain http on a
// phone): it is a CameraError with a sentence for the person at the door.

/** How often a frame is looked at: fast enough to feel instant, slow enough for a phone's battery. */
const scanIntervalMs = 150;
/** Frames are scaled down to this many pixels on their longer side before jsQR reads them. */
const frameSideMax = 800;

export type CameraFailure = 'insecure' | 'unsupported' | 'denied' | 'no_camera' | 'busy' | 'other';

export class CameraError extends Error {
  constructor(
    readonly reason: CameraFailure,
    message: string,
  ) {
    super(message);
  }
}

/** The part of the Barcode Detection API used here (not yet in TypeScript's DOM types). */
interface BarcodeDetectorLike {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
interface BarcodeDetectorClass {
  new (options: { formats: string[] }): BarcodeDetectorLike;
  getSupportedFormats(): Promise<string[]>;
}

type Decoder = (video: HTMLVideoElement) => Promise<string | null>;

export interface QrCamera {
  /** Which decoder reads the frames. */
  decoder: 'BarcodeDetector' | 'jsQR';
  stop(): void;
}

function failureOf(error: unknown): CameraError {
  const name = error instanceof DOMException ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new CameraError('denied', 'Camera access was refused: allow it in the browser, or type the code.');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new CameraError('no_camera', 'No camera was found: type or paste the code.');
    case 'NotReadableError':
    case 'AbortError':
      return new CameraError('busy', 'The camera is in use by another app: close it, or type the code.');
    default:
      return new CameraError(
        'other',
        `The camera could not be started (${error instanceof Error ? error.message : String(error)}): type the code.`,
      );
  }
}

async function barcodeDetector(): Promise<Decoder | null> {
  const Detector = (window as unknown as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
  if (!Detector) return null;
  try {
    if (!(await Detector.getSupportedFormats()).includes('qr_code')) return null;
    const detector = new Detector({ formats: ['qr_code'] });
    return async (video) => (await detector.detect(video))[0]?.rawValue ?? null;
  } catch {
    return null;
  }
}

async function jsQrDecoder(): Promise<Decoder> {
  const { default: jsQR } = await import('jsqr');
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new CameraError('unsupported', 'This browser cannot read camera frames: type the code.');
  return async (video) => {
    const scale = Math.min(1, frameSideMax / Math.max(video.videoWidth, video.videoHeight));
    const width = Math.max(1, Math.round(video.videoWidth * scale));
    const height = Math.max(1, Math.round(video.videoHeight * scale));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context.drawImage(video, 0, 0, width, height);
    const frame = context.getImageData(0, 0, width, height);
    return jsQR(frame.data, width, height, { inversionAttempts: 'dontInvert' })?.data ?? null;
  };
}

/**
 * Shows the back camera in `video` and calls `found` with each code it reads (again on every
 * frame while the code stays in view: the caller decides what a repeat means).
 */
export async function startQrCamera(video: HTMLVideoElement, found: (code: string) => void): Promise<QrCamera> {
  if (!window.isSecureContext) {
    throw new CameraError('insecure', 'The camera needs a secure (https) connection: type or paste the code.');
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError('unsupported', 'This browser offers no camera: type or paste the code.');
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (error) {
    throw failureOf(error);
  }
  let stopped = false;
  let timer: number | undefined;
  const stop = () => {
    stopped = true;
    window.clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  try {
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play();
    const native = await barcodeDetector();
    const decode = native ?? (await jsQrDecoder());
    const tick = async () => {
      if (stopped) return;
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) {
        try {
          const code = await decode(video);
          if (code && !stopped) found(code);
        } catch {
          // a frame that cannot be read (the camera switching) is skipped
        }
      }
      if (!stopped) timer = window.setTimeout(() => void tick(), scanIntervalMs);
    };
    void tick();
    return { decoder: native ? 'BarcodeDetector' : 'jsQR', stop };
  } catch (error) {
    stop();
    throw error instanceof CameraError ? error : failureOf(error);
  }
}
