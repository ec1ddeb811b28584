package com.pplite.humanseg.app;

import com.baidu.paddle.lite.MobileConfig;
import com.baidu.paddle.lite.PaddlePredictor;
import com.baidu.paddle.lite.PowerMode;
import com.baidu.paddle.lite.Tensor;
import com.pplite.humanseg.core.MaskDecoder;
import com.pplite.humanseg.core.ModelSpec;
import com.pplite.humanseg.core.MotionFusion;
import com.pplite.humanseg.core.Preprocessor;
import com.pplite.humanseg.core.Resize;
import com.pplite.humanseg.core.TemporalSmoother;

/**
 * The converted model on Paddle-Lite's Java API: preprocess, run, decode (with the temporal smoothing across
 * frames that model_spec.json describes), with each stage timed. This is the only
 * class that touches Paddle-Lite's classes, so an APK without them (or without libpaddle_lite_jni.so) fails inside
 * the constructor, where MainActivity turns the error into an on-screen message.
 */
final class Segmenter {
    static final class Result {
        final float[] alpha;
        final double preprocessMs;
        final double inferenceMs;
        final double postprocessMs;

        Result(float[] alpha, double preprocessMs, double inferenceMs, double postprocessMs) {
            this.alpha = alpha;
            this.preprocessMs = preprocessMs;
            this.inferenceMs = inferenceMs;
            this.postprocessMs = postprocessMs;
        }

        double frameMs() {
            return preprocessMs + inferenceMs + postprocessMs;
        }
    }

    private final ModelSpec spec;
    private final Preprocessor preprocessor;
    private final MaskDecoder decoder;
    private final PaddlePredictor predictor;
    private final TemporalSmoother smoother;
    private final MotionFusion fusion;

    /** powerMode: a PowerMode name such as LITE_POWER_HIGH (an unknown name is an IllegalArgumentException). */
    Segmenter(ModelSpec spec, String modelPath, int threads, String powerMode) {
        this.spec = spec;
        this.preprocessor = new Preprocessor(spec);
        this.decoder = new MaskDecoder(spec);
        this.smoother = new TemporalSmoother(spec);  // model_spec.json's "temporal", as the Python reference
        this.fusion = spec.temporalSmoothing.equals("motion_fusion") ? new MotionFusion(spec) : null;
        MobileConfig config = new MobileConfig();
        config.setModelFromFile(modelPath);
        config.setThreads(threads);
        config.setPowerMode(PowerMode.valueOf(powerMode));
        predictor = PaddlePredictor.createPaddlePredictor(config);
        if (predictor == null) {
            throw new IllegalStateException("Paddle-Lite could not load " + modelPath
                    + " (is it an ARM .nb from the same Paddle-Lite release as the library?)");
        }
    }

    private static double msSince(long startNs) {
        return (System.nanoTime() - startNs) / 1e6;
    }

    synchronized Result segment(int[] argb, int width, int height) {
        long t0 = System.nanoTime();
        float[] input = preprocessor.toNchw(argb, width, height);
        Tensor in = predictor.getInput(0);
        if (!in.resize(spec.inputDims())) {
            throw new IllegalStateException("Paddle-Lite refused the input shape " + spec.inputShapeText()
                    + " (the tensor is read-only or the shape is invalid)");
        }
        if (!in.setData(input)) {
            throw new IllegalStateException("Paddle-Lite refused the input data (" + input.length + " floats for "
                    + spec.inputShapeText() + ")");
        }
        double pre = msSince(t0);
        long t1 = System.nanoTime();
        if (!predictor.run()) {
            throw new IllegalStateException("Paddle-Lite run() failed");
        }
        double inference = msSince(t1);
        long t2 = System.nanoTime();
        Tensor out = predictor.getOutput(0);
        float[] alpha;
        if (spec.outputKind.equals("argmax")) {
            boolean[] mask = spec.outputDtype.equals("int64")
                    ? decoder.maskFromLabels(out.getLongData(), width, height)
                    : decoder.maskFromLabels(out.getIntData(), width, height);
            alpha = MaskDecoder.toAlpha(mask);
        } else {
            long[] shape = out.shape();
            int classes = shape.length == 4 ? (int) shape[1] : 2;
            float[] prob = decoder.foregroundProbability(out.getFloatData(), classes);
            float[] smoothed;
            if (fusion != null) {
                int[] small = Resize.bilinearArgb(argb, width, height, spec.width, spec.height);
                smoothed = fusion.step(prob, small, spec.width, spec.height);
            } else {
                float[] luma = Resize.bilinear(TemporalSmoother.luminance(argb), width, height, spec.width, spec.height);
                smoothed = smoother.step(prob, luma);
            }
            alpha = decoder.alphaAtSize(smoothed, width, height);
        }
        return new Result(alpha, pre, inference, msSince(t2));
    }
}
