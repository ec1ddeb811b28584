package com.baidu.paddle.lite;

/** Stub (compile-only): see README.txt. */
public class ConfigBase {
    public void setPowerMode(PowerMode powerMode) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public PowerMode getPowerMode() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public void setThreads(int threads) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public int getThreads() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }
}
