package io.kolplatform.spark;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;

/**
 * The display-count rule of {@code ingestion/counts.py}, for Spark.
 *
 * <p>Same rule, second engine: Silver parses millions of counts, and as Catalyst expressions the
 * rule generated methods so large that compiling them took longer than parsing a day's records.
 * A JVM function keeps it off Python (no Python UDF on this path) and costs one call per value.
 * Both implementations are tested against {@code ingestion/count_cases.csv}; when the rule
 * changes, change both and the table.
 *
 * <p>Each function returns {@code struct<value, error>}: {@code value} is null when the source had
 * no value or could not be parsed, {@code error} says why it could not (null otherwise).
 */
public final class DisplayCounts {
  private DisplayCounts() {}

  /** SQL type of {@link ParseCount}'s result. */
  public static final String COUNT_TYPE = "struct<value:bigint,error:string>";
  /** SQL type of {@link ParsePercent}'s result. */
  public static final String PERCENT_TYPE = "struct<value:double,error:string>";

  // Kept in step with ingestion.counts.MISSING_TOKENS (the case table checks it).
  private static final Set<String> MISSING =
      Set.of("", "\u2014", "\u2013", "-", "n/a", "na", "null", "none", "nan");
  // Whitespace that locales use as a digit-group separator: space, NBSP, narrow NBSP.
  private static final String SP = " \u00a0\u202f";
  private static final Pattern COUNT =
      Pattern.compile("([0-9][0-9.," + SP + "]*)[" + SP + "]?([kKmMbB])?\\+?");
  private static final Pattern DECIMAL = Pattern.compile("[0-9]+(?:[.,][0-9]+)?");
  private static final Pattern GROUPED =
      Pattern.compile("[1-9][0-9]{0,2}([.," + SP + "])[0-9]{3}(?:\\1[0-9]{3})*");
  private static final Pattern PERCENT =
      Pattern.compile("([+-]?[0-9]+(?:[.,][0-9]+)?)[" + SP + "]?%");
  private static final BigInteger MAX = BigInteger.valueOf(Long.MAX_VALUE);
  private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

  private static final Row NONE = RowFactory.create(null, null);

  /** {@code kol_parse_count(raw STRING) -> struct<value BIGINT, error STRING>}. */
  public static final class ParseCount implements UDF1<String, Row> {
    private static final long serialVersionUID = 1L;

    @Override
    public Row call(String raw) {
      return parseCount(raw);
    }
  }

  /** {@code kol_parse_percent(raw STRING) -> struct<value DOUBLE, error STRING>}: "1.39%" is 0.0139. */
  public static final class ParsePercent implements UDF1<String, Row> {
    private static final long serialVersionUID = 1L;

    @Override
    public Row call(String raw) {
      return parsePercent(raw);
    }
  }

  private static Row error(String reason) {
    return RowFactory.create(null, reason);
  }

  private static Row count(BigInteger n) {
    return n.compareTo(MAX) > 0 ? error("count out of range") : RowFactory.create(n.longValue(), null);
  }

  static Row parseCount(String raw) {
    if (raw == null) {
      return NONE;
    }
    String s = strip(raw);
    if (isMissing(s)) {
      return NONE;
    }
    if (asciiDigits(s)) { // the common case, kept off the regex path
      return s.length() < 19 ? RowFactory.create(Long.parseLong(s), null) : count(new BigInteger(s));
    }
    Matcher m = COUNT.matcher(s);
    if (!m.matches()) {
      return error("not a display count");
    }
    String num = rstripSpaces(m.group(1));
    String suffix = m.group(2);
    if (suffix != null) {
      if (!DECIMAL.matcher(num).matches()) {
        return error("a suffixed count has at most one decimal separator");
      }
      BigDecimal value = new BigDecimal(num.replace(',', '.')).multiply(multiplier(suffix));
      return count(value.setScale(0, RoundingMode.HALF_UP).toBigInteger());
    }
    if (asciiDigits(num)) {
      return count(new BigInteger(num));
    }
    if (GROUPED.matcher(num).matches()) {
      return count(new BigInteger(num.replaceAll("[^0-9]", "")));
    }
    if (DECIMAL.matcher(num).matches()) {
      BigDecimal value = new BigDecimal(num.replace(',', '.'));
      if (value.signum() != 0 && value.stripTrailingZeros().scale() > 0) {
        return error("fractional count without a K/M/B suffix");
      }
      return count(value.toBigInteger());
    }
    return error("malformed digit groups");
  }

  static Row parsePercent(String raw) {
    if (raw == null) {
      return NONE;
    }
    String s = strip(raw);
    if (isMissing(s) || (s.endsWith("%") && isMissing(strip(s.substring(0, s.length() - 1))))) {
      return NONE;
    }
    Matcher m = PERCENT.matcher(s);
    if (!m.matches()) {
      return error("not a percentage");
    }
    BigDecimal pct = new BigDecimal(m.group(1).replace(',', '.'));
    return RowFactory.create(pct.divide(HUNDRED).doubleValue(), null);
  }

  private static BigDecimal multiplier(String suffix) {
    switch (Character.toLowerCase(suffix.charAt(0))) {
      case 'k':
        return BigDecimal.valueOf(1_000L);
      case 'm':
        return BigDecimal.valueOf(1_000_000L);
      default:
        return BigDecimal.valueOf(1_000_000_000L);
    }
  }

  private static boolean isMissing(String s) {
    return MISSING.contains(s.toLowerCase(Locale.ROOT));
  }

  private static boolean asciiDigits(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  // Python's str.strip(): every Unicode white space, NBSP included (Java's strip() keeps NBSP).
  private static boolean isSpace(char c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c);
  }

  private static String strip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isSpace(s.charAt(start))) {
      start++;
    }
    while (end > start && isSpace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(start, end);
  }

  private static String rstripSpaces(String s) {
    int end = s.length();
    while (end > 0 && SP.indexOf(s.charAt(end - 1)) >= 0) {
      end--;
    }
    return s.substring(0, end);
  }
}
