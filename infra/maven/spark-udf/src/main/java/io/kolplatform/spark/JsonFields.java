package io.kolplatform.spark;

import java.io.IOException;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonFactoryBuilder;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import org.apache.spark.sql.api.java.UDF2;

/**
 * {@code kol_json_fields(payload BINARY, names STRING) -> array<string>}: the named top-level
 * fields of a JSON object, each as text, in the order of {@code names} (comma-separated); null
 * when the payload is not a JSON object.
 *
 * <p>What {@code from_json(payload, 'a STRING, b STRING, ...')} gives, faster: Spark's JSON
 * functions hand Jackson a {@code Reader} over each record, so every record is decoded to UTF-16
 * before it is parsed and pays for a new decoder; this parses the UTF-8 bytes themselves. The
 * rest follows Spark's reading: strings unquoted, other values as Spark's JSON generator writes
 * them (ints canonical, floats as doubles, NaN quoted, nested values as JSON), a repeated key's
 * last value, Spark's default JSON options (single quotes and NaN/Infinity allowed), nothing
 * checked after the object's end. One difference, on purpose: bytes that are not UTF-8 make the
 * payload malformed (a reject, kept with its payload), where Spark's reader would have put
 * replacement characters in their place. tests/unit/spark_jobs/test_functions.py holds the two
 * to the same results.
 */
public final class JsonFields implements UDF2<byte[], String, String[]> {
  private static final long serialVersionUID = 1L;

  private static final JsonFactory FACTORY =
      new JsonFactoryBuilder()
          .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();

  // The names argument is the same literal on every row of a column: its index is built once
  // per task thread and reused while the text is unchanged.
  private static final ThreadLocal<Index> INDEX = new ThreadLocal<>();

  private record Index(String names, Map<String, Integer> positions, int size) {
    static Index of(String names) {
      String[] parts = names.split(",", -1);
      Map<String, Integer> positions = new HashMap<>(parts.length * 2);
      for (int i = 0; i < parts.length; i++) {
        positions.put(parts[i], i);
      }
      return new Index(names, positions, parts.length);
    }
  }

  @Override
  public String[] call(byte[] payload, String names) {
    if (payload == null || names == null) {
      return null;
    }
    Index index = INDEX.get();
    if (index == null || !index.names().equals(names)) {
      index = Index.of(names);
      INDEX.set(index);
    }
    return fields(payload, index);
  }

  static String[] fields(byte[] payload, Index index) {
    try (JsonParser parser = FACTORY.createParser(payload)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      String[] out = new String[index.size()];
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        Integer at = index.positions().get(parser.currentName());
        JsonToken value = parser.nextToken();
        if (at == null) {
          parser.skipChildren();
        } else {
          out[at] = text(parser, value);
        }
      }
      return token == JsonToken.END_OBJECT ? out : null;
    } catch (IOException e) {
      return null;
    }
  }

  // Spark writes every value but a string through a JSON generator (JacksonParser, StringType):
  // ints and booleans come out as their canonical text, which is built here without one.
  private static String text(JsonParser parser, JsonToken value) throws IOException {
    switch (value) {
      case VALUE_STRING:
        return parser.getText();
      case VALUE_NULL:
        return null;
      case VALUE_TRUE:
        return "true";
      case VALUE_FALSE:
        return "false";
      case VALUE_NUMBER_INT:
        switch (parser.getNumberType()) {
          case INT:
            return Integer.toString(parser.getIntValue());
          case LONG:
            return Long.toString(parser.getLongValue());
          default:
            return parser.getBigIntegerValue().toString();
        }
      default:
        StringWriter json = new StringWriter();
        try (JsonGenerator generator = FACTORY.createGenerator(json)) {
          generator.copyCurrentStructure(parser);
        }
        return json.toString();
    }
  }
}
