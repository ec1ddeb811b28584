package com.pplite.humanseg;

import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;

/** Runs the host JVM unit tests and prints one "N passed, N failed" line (exit 1 on any failure). */
public final class TestMain {
    private TestMain() {
    }

    public static void main(String[] args) throws ClassNotFoundException {
        Class<?>[] classes = new Class<?>[args.length];
        for (int i = 0; i < args.length; i++) {
            classes[i] = Class.forName(args[i]);
        }
        Result result = JUnitCore.runClasses(classes);
        for (Failure f : result.getFailures()) {
            System.out.println("FAILED " + f.getTestHeader() + ": " + f.getMessage());
            String trace = f.getTrace();
            System.out.println(trace.length() > 1500 ? trace.substring(0, 1500) : trace);
        }
        int failed = result.getFailureCount();
        System.out.println("java unit tests: " + (result.getRunCount() - failed) + " passed, " + failed + " failed"
                + (result.getIgnoreCount() > 0 ? ", " + result.getIgnoreCount() + " ignored" : ""));
        System.exit(failed == 0 && result.getRunCount() > 0 ? 0 : 1);
    }
}
