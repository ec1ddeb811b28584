package com.pplite.humanseg.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

/** The golden files written by `python -m benchmark demo-goldens` (folder in the system property "goldens"). */
final class Goldens {
    static final Path DIR = Paths.get(System.getProperty("goldens", "build/android/goldens"));

    private Goldens() {
    }

    static String text(String name) throws IOException {
        return new String(Files.readAllBytes(DIR.resolve(name)), StandardCharsets.UTF_8);
    }

    static byte[] bytes(String name) throws IOException {
        return Files.readAllBytes(DIR.resolve(name));
    }

    static float[] floats(String name) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[buf.remaining() / 4];
        buf.asFloatBuffer().get(out);
        return out;
    }

    static ModelSpec spec() throws IOException {
        return ModelSpec.parse(text("model_spec.json"));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> index() throws IOException {
        return (Map<String, Object>) Json.parse(text("index.json"));
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(String key) throws IOException {
        return (List<Map<String, Object>>) index().get(key);
    }

    static double number(Map<String, Object> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    static int integer(Map<String, Object> m, String key) {
        return ((Double) m.get(key)).intValue();
    }

    /** Packed ARGB from interleaved RGB bytes. */
    static int[] argb(byte[] rgb) {
        int[] out = new int[rgb.length / 3];
        for (int i = 0; i < out.length; i++) {
            out[i] = 0xFF000000 | ((rgb[3 * i] & 0xFF) << 16) | ((rgb[3 * i + 1] & 0xFF) << 8) | (rgb[3 * i + 2] & 0xFF);
        }
        return out;
    }
}
