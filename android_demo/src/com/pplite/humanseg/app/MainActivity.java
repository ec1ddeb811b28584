package com.pplite.humanseg.app;

import android.Manifest;
import android.app.Activity;
import android.content.pm.PackageManager;
import android.graphics.Bitmap;
import android.graphics.BitmapFactory;
import android.os.Bundle;
import android.os.Handler;
import android.os.HandlerThread;
import android.view.View;
import android.view.WindowInsets;
import android.widget.CheckBox;
import android.widget.CompoundButton;
import android.widget.ImageView;
import android.widget.RadioGroup;
import android.widget.TextView;
import com.pplite.humanseg.R;
import com.pplite.humanseg.core.Compositor;
import com.pplite.humanseg.core.ModelSpec;
import com.pplite.humanseg.core.Resize;
import com.pplite.humanseg.core.TimingStats;
import com.pplite.humanseg.core.YuvConverter;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Portrait segmentation on camera frames (or on the bundled photo without the camera permission): the person kept,
 * the background replaced by a colour, a blur of the frame or a bundled image; inference and whole-frame times
 * on screen. Options as intent extras: threads (int, default 1), power_mode (LITE_POWER_HIGH by default).
 */
public class MainActivity extends Activity implements CameraSource.Listener {
    private static final int CAMERA_REQUEST = 1;
    private static final int GREEN = 0x2E7D32;

    private ImageView view;
    private TextView status;
    private RadioGroup backgroundChoice;
    private CheckBox overlay;
    private HandlerThread worker;
    private Handler workHandler;
    private Segmenter segmenter;
    private ModelSpec spec;
    private CameraSource camera;
    private int[] backgroundImage;
    private int backgroundW;
    private int backgroundH;
    private volatile boolean busy;
    private final TimingStats inference = new TimingStats(30);
    private final TimingStats frame = new TimingStats(30);

    @Override
    protected void onCreate(Bundle saved) {
        super.onCreate(saved);
        setContentView(R.layout.activity_main);
        applyInsets(findViewById(android.R.id.content));
        view = (ImageView) findViewById(R.id.output);
        status = (TextView) findViewById(R.id.status);
        backgroundChoice = (RadioGroup) findViewById(R.id.background);
        overlay = (CheckBox) findViewById(R.id.overlay);
        worker = new HandlerThread("segmentation");
        worker.start();
        workHandler = new Handler(worker.getLooper());
        final int threads = getIntent().getIntExtra("threads", 1);
        String mode = getIntent().getStringExtra("power_mode");
        // a name, not a PowerMode: no Paddle-Lite class may load outside the try in load() (see Segmenter)
        final String powerMode = mode == null ? "LITE_POWER_HIGH" : mode;
        status.setText(getString(R.string.loading));
        workHandler.post(new Runnable() {
            @Override
            public void run() {
                load(threads, powerMode);
            }
        });
        RadioGroup.OnCheckedChangeListener redraw = new RadioGroup.OnCheckedChangeListener() {
            @Override
            public void onCheckedChanged(RadioGroup group, int checkedId) {
                refreshPhoto();
            }
        };
        backgroundChoice.setOnCheckedChangeListener(redraw);
        overlay.setOnCheckedChangeListener(new CompoundButton.OnCheckedChangeListener() {
            @Override
            public void onCheckedChanged(CompoundButton button, boolean checked) {
                refreshPhoto();
            }
        });
    }

    /**
     * Targeting API 35+, the window is edge-to-edge on Android 15+: the app draws behind the status and navigation
     * bars. The content keeps clear of them by taking the system bars' insets as padding (the inset getters of API
     * 20+, which android.jar 23 compiles against; deprecated since API 30, still reported on 36).
     */
    private static void applyInsets(View root) {
        root.setOnApplyWindowInsetsListener(new View.OnApplyWindowInsetsListener() {
            @Override
            @SuppressWarnings("deprecation")
            public WindowInsets onApplyWindowInsets(View v, WindowInsets insets) {
                v.setPadding(insets.getSystemWindowInsetLeft(), insets.getSystemWindowInsetTop(),
                        insets.getSystemWindowInsetRight(), insets.getSystemWindowInsetBottom());
                return insets;
            }
        });
        root.requestApplyInsets();
    }

    private byte[] asset(String name) throws IOException {
        InputStream in = getAssets().open(name);
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[65536];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            in.close();
        }
    }

    private void load(int threads, String powerMode) {
        try {
            spec = ModelSpec.parse(new String(asset("model_spec.json"), "UTF-8"));
            if (spec.randomWeights()) {
                show(spec.model + " has random weights (a latency-only stand-in): its masks would be meaningless,"
                        + " so the demo does not run it. Build the APK with a trained model.");
                return;
            }
            File model = new File(getFilesDir(), "model.nb");
            OutputStream out = new FileOutputStream(model);
            try {
                out.write(asset("model.nb"));
            } finally {
                out.close();
            }
            Bitmap bg = BitmapFactory.decodeStream(getAssets().open("background.jpg"));
            backgroundW = bg.getWidth();
            backgroundH = bg.getHeight();
            backgroundImage = new int[backgroundW * backgroundH];
            bg.getPixels(backgroundImage, 0, backgroundW, 0, 0, backgroundW, backgroundH);
            segmenter = new Segmenter(spec, model.getAbsolutePath(), threads, powerMode);
        } catch (IOException e) {
            show("cannot read the bundled model: " + e.getMessage());
            return;
        } catch (UnsatisfiedLinkError e) {
            show(getString(R.string.no_native_library));
            return;
        } catch (NoClassDefFoundError e) {
            show(getString(R.string.no_native_library));
            return;
        } catch (RuntimeException e) {
            show(spec == null ? "model_spec.json: " + e.getMessage() : e.getMessage());
            return;
        }
        final String title = spec.title;
        runOnUiThread(new Runnable() {
            @Override
            public void run() {
                setTitle(title);
                if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
                    startCamera();
                } else {
                    requestPermissions(new String[] {Manifest.permission.CAMERA}, CAMERA_REQUEST);
                }
            }
        });
    }

    @Override
    public void onRequestPermissionsResult(int code, String[] permissions, int[] results) {
        if (code != CAMERA_REQUEST) {
            return;
        }
        if (results.length > 0 && results[0] == PackageManager.PERMISSION_GRANTED) {
            startCamera();
        } else {
            refreshPhoto();
        }
    }

    private void startCamera() {
        camera = new CameraSource(this, this);
        camera.start();
    }

    /** Without the camera: segment the bundled photo (again when the background choice changes). */
    private void refreshPhoto() {
        if (camera != null || segmenter == null) {
            return;
        }
        workHandler.post(new Runnable() {
            @Override
            public void run() {
                try {
                    Bitmap photo = BitmapFactory.decodeStream(getAssets().open("sample.jpg"));
                    int w = photo.getWidth();
                    int h = photo.getHeight();
                    int[] argb = new int[w * h];
                    photo.getPixels(argb, 0, w, 0, 0, w, h);
                    process(argb, w, h, 0);
                } catch (IOException e) {
                    show("cannot read the bundled photo: " + e.getMessage());
                }
            }
        });
    }

    @Override
    public void onFrame(byte[] y, int yRowStride, byte[] u, byte[] v, int uvRowStride, int uvPixelStride,
            final int width, final int height, final int rotationDegrees) {
        if (busy || segmenter == null) {
            return;  // drop frames while one is in flight
        }
        busy = true;
        long t0 = System.nanoTime();
        final int[] argb = YuvConverter.toArgb(y, yRowStride, u, v, uvRowStride, uvPixelStride, width, height,
                rotationDegrees);
        final double convertMs = (System.nanoTime() - t0) / 1e6;
        final int[] size = YuvConverter.rotatedSize(width, height, rotationDegrees);
        workHandler.post(new Runnable() {
            @Override
            public void run() {
                try {
                    process(argb, size[0], size[1], convertMs);
                } finally {
                    busy = false;
                }
            }
        });
    }

    @Override
    public void onError(String message) {
        show(message + "; showing the bundled photo");
        camera = null;
        refreshPhoto();
    }

    private int[] background(int[] argb, int w, int h) {
        int choice = backgroundChoice.getCheckedRadioButtonId();
        if (choice == R.id.bg_blur) {
            return Compositor.blur(argb, w, h, Math.max(4, w / 40));
        }
        if (choice == R.id.bg_image) {
            return Resize.bilinearArgb(backgroundImage, backgroundW, backgroundH, w, h);
        }
        return Compositor.solid(GREEN, w * h);
    }

    private void process(int[] argb, int w, int h, double convertMs) {
        long t0 = System.nanoTime();
        Segmenter.Result r;
        try {
            r = segmenter.segment(argb, w, h);
        } catch (RuntimeException e) {
            show("inference failed: " + e.getMessage());
            return;
        }
        int[] out = overlay.isChecked()
                ? Compositor.overlay(argb, r.alpha, 0xFF4081, 0.5f)
                : Compositor.blend(argb, r.alpha, background(argb, w, h));
        final Bitmap bitmap = Bitmap.createBitmap(out, w, h, Bitmap.Config.ARGB_8888);
        inference.add(r.inferenceMs);
        frame.add(convertMs + (System.nanoTime() - t0) / 1e6);
        final String text = String.format("%s %dx%d | inference %.1f ms (median %.1f) | frame %.1f ms (median %.1f)",
                spec.model, spec.width, spec.height, r.inferenceMs, inference.median(),
                convertMs + r.frameMs(), frame.median());
        runOnUiThread(new Runnable() {
            @Override
            public void run() {
                view.setImageBitmap(bitmap);
                status.setText(text);
            }
        });
    }

    private void show(final String message) {
        runOnUiThread(new Runnable() {
            @Override
            public void run() {
                status.setText(message);
            }
        });
    }

    @Override
    protected void onDestroy() {
        if (camera != null) {
            camera.stop();
        }
        worker.quitSafely();
        super.onDestroy();
    }
}
