package com.pplite.humanseg.app;

import android.content.Context;
import android.graphics.ImageFormat;
import android.hardware.camera2.CameraAccessException;
import android.hardware.camera2.CameraCaptureSession;
import android.hardware.camera2.CameraCharacteristics;
import android.hardware.camera2.CameraDevice;
import android.hardware.camera2.CameraManager;
import android.hardware.camera2.CaptureRequest;
import android.media.Image;
import android.media.ImageReader;
import android.os.Handler;
import android.os.HandlerThread;
import java.nio.ByteBuffer;
import java.util.Collections;

/** camera2 frames (YUV_420_888) delivered as byte planes on a background thread; front camera preferred. */
final class CameraSource {
    interface Listener {
        void onFrame(byte[] y, int yRowStride, byte[] u, byte[] v, int uvRowStride, int uvPixelStride,
                int width, int height, int rotationDegrees);

        void onError(String message);
    }

    static final int WIDTH = 640;
    static final int HEIGHT = 480;

    private final CameraManager manager;
    private final Listener listener;
    private HandlerThread thread;
    private Handler handler;
    private ImageReader reader;
    private CameraDevice camera;
    private int rotation;

    CameraSource(Context context, Listener listener) {
        this.manager = (CameraManager) context.getSystemService(Context.CAMERA_SERVICE);
        this.listener = listener;
    }

    private String pickCamera() throws CameraAccessException {
        String fallback = null;
        for (String id : manager.getCameraIdList()) {
            Integer facing = manager.getCameraCharacteristics(id).get(CameraCharacteristics.LENS_FACING);
            if (facing != null && facing == CameraCharacteristics.LENS_FACING_FRONT) {
                return id;
            }
            if (fallback == null) {
                fallback = id;
            }
        }
        return fallback;
    }

    private static byte[] copy(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    /** Requires the CAMERA permission (checked by the caller). */
    void start() {
        thread = new HandlerThread("camera");
        thread.start();
        handler = new Handler(thread.getLooper());
        reader = ImageReader.newInstance(WIDTH, HEIGHT, ImageFormat.YUV_420_888, 2);
        reader.setOnImageAvailableListener(new ImageReader.OnImageAvailableListener() {
            @Override
            public void onImageAvailable(ImageReader r) {
                Image image = r.acquireLatestImage();
                if (image == null) {
                    return;
                }
                try {
                    Image.Plane[] p = image.getPlanes();
                    listener.onFrame(copy(p[0].getBuffer()), p[0].getRowStride(), copy(p[1].getBuffer()),
                            copy(p[2].getBuffer()), p[1].getRowStride(), p[1].getPixelStride(),
                            image.getWidth(), image.getHeight(), rotation);
                } finally {
                    image.close();
                }
            }
        }, handler);
        try {
            String id = pickCamera();
            if (id == null) {
                listener.onError("no camera on this device");
                return;
            }
            Integer orientation = manager.getCameraCharacteristics(id).get(CameraCharacteristics.SENSOR_ORIENTATION);
            rotation = orientation == null ? 0 : orientation;
            manager.openCamera(id, new CameraDevice.StateCallback() {
                @Override
                public void onOpened(CameraDevice device) {
                    camera = device;
                    startSession();
                }

                @Override
                public void onDisconnected(CameraDevice device) {
                    device.close();
                }

                @Override
                public void onError(CameraDevice device, int error) {
                    device.close();
                    listener.onError("camera error " + error);
                }
            }, handler);
        } catch (CameraAccessException | SecurityException e) {
            listener.onError("cannot open the camera: " + e.getMessage());
        }
    }

    private void startSession() {
        try {
            final CaptureRequest.Builder request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW);
            request.addTarget(reader.getSurface());
            camera.createCaptureSession(Collections.singletonList(reader.getSurface()),
                    new CameraCaptureSession.StateCallback() {
                        @Override
                        public void onConfigured(CameraCaptureSession session) {
                            try {
                                session.setRepeatingRequest(request.build(), null, handler);
                            } catch (CameraAccessException e) {
                                listener.onError("camera: " + e.getMessage());
                            }
                        }

                        @Override
                        public void onConfigureFailed(CameraCaptureSession session) {
                            listener.onError("camera session could not be configured");
                        }
                    }, handler);
        } catch (CameraAccessException e) {
            listener.onError("camera: " + e.getMessage());
        }
    }

    void stop() {
        if (camera != null) {
            camera.close();
            camera = null;
        }
        if (reader != null) {
            reader.close();
            reader = null;
        }
        if (thread != null) {
            thread.quitSafely();
            thread = null;
        }
    }
}
